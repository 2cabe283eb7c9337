from django.utils.translation import gettext_lazy as _

from initiatives.models import Initiative
from portal.publishing import PublishState
from portal.search.documents import markdown_text, publishable_document
from portal.search.engine import connect
from portal.search.registry import Kind


def document(initiative: Initiative, language: str):
    body = markdown_text(initiative.body)
    # A one-paragraph program's body opens with its summary: index (and show) it once.
    summary = None if " ".join(initiative.summary.split()) in " ".join(body.split()) else initiative.summary
    return publishable_document(
        initiative, title=initiative.title, parts=[initiative.short_name, summary, body, initiative.office]
    )


def register() -> None:
    connect(
        Kind(
            key="initiative",
            code=1,
            model=Initiative,
            label=_("取組"),
            documents=document,
            queryset=lambda: Initiative.objects.filter(state=PublishState.PUBLISHED),
            list_url="initiatives:list",
        )
    )
