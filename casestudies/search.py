from django.db.models.signals import m2m_changed
from django.utils.translation import gettext_lazy as _

from casestudies.models import CaseStudy
from portal.publishing import PublishState
from portal.search import engine
from portal.search.documents import markdown_text, publishable_document
from portal.search.engine import connect
from portal.search.registry import Kind, kind_for_model


def document(case: CaseStudy, language: str):
    places = "、".join(m.full_name for m in case.municipalities.all()) if case.pk else ""
    return publishable_document(
        case,
        title=case.title,
        parts=[
            case.subtitle,
            case.organisation,
            places,
            case.keywords,
            case.summary,
            case.purpose,
            markdown_text(case.activities),
            case.results,
            case.lessons,
            case.sustainability,
        ],
    )


def register() -> None:
    connect(
        Kind(
            key="casestudy",
            code=4,
            model=CaseStudy,
            label=_("優良事例"),
            documents=document,
            queryset=lambda: CaseStudy.objects.filter(state=PublishState.PUBLISHED).prefetch_related("municipalities"),
            list_url="casestudies:list",
        )
    )
    m2m_changed.connect(_on_places_changed, sender=CaseStudy.municipalities.through, dispatch_uid="casestudies:places")


def _on_places_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """A case's document names its places, and the admin and the file import set them after the
    case is saved (and indexed): index it again once they are set."""
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    # reverse: municipality.case_studies.add(case, …) changed the cases in pk_set.
    cases = CaseStudy.objects.filter(pk__in=pk_set or ()) if reverse else [instance]
    engine.index_objects(kind_for_model(CaseStudy), cases)
