from django.utils.translation import gettext_lazy as _

from expertnet.models import Expert, Seminar
from portal.publishing import PublishState
from portal.search.documents import markdown_text, publishable_document
from portal.search.engine import connect
from portal.search.registry import Kind


def expert_document(expert: Expert, language: str):
    return publishable_document(
        expert,
        title=expert.name,
        parts=[
            expert.name_kana,
            expert.affiliation,
            expert.job_title,
            expert.registered_field,
            markdown_text(expert.profile),
        ],
    )


def seminar_document(seminar: Seminar, language: str):
    """A seminar as found by the site search: its place, venue, theme, summary and programme (titles
    and speakers). Dated by its start, which its search hit shows. The admin indexes a seminar again
    once its programme is saved (expertnet.seminar_admin)."""
    municipality = seminar.municipality
    prefecture = municipality.prefecture
    place = f"{prefecture.name}{municipality.full_name}" + (f" {prefecture.name_en}" if language == "en" else "")
    programme = []
    for session in seminar.sessions.all() if seminar.pk else []:
        programme += [session.title, session.other_speakers, *(e.name for e in session.speakers.all())]
    return publishable_document(
        seminar,
        title=seminar.title,
        parts=[place, seminar.venue, seminar.theme.name if seminar.theme else "", seminar.summary, *programme],
        date=seminar.starts_at,
    )


def register() -> None:
    connect(
        Kind(
            key="expert",
            code=5,
            model=Expert,
            label=_("専門家"),
            documents=expert_document,
            queryset=lambda: Expert.objects.filter(state=PublishState.PUBLISHED),
            list_url="expertnet:list",
        )
    )
    connect(
        Kind(
            key="seminar",
            code=6,
            model=Seminar,
            label=_("セミナー"),
            documents=seminar_document,
            queryset=lambda: (
                Seminar.objects.filter(state=PublishState.PUBLISHED)
                .select_related("municipality__prefecture", "municipality__parent", "theme")
                .prefetch_related("sessions__speakers")
            ),
            list_url="expertnet:seminars",
        )
    )
