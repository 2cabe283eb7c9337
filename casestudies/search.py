from django.utils.translation import gettext_lazy as _

from casestudies.models import CaseStudy
from portal.publishing import PublishState
from portal.search.documents import markdown_text, publishable_document
from portal.search.engine import connect
from portal.search.registry import Kind


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
