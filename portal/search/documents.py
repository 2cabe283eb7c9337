"""Helpers for the documents() functions apps register (portal.search.registry.Kind)."""

import html

from django.utils.html import strip_tags

from portal.publishing import PublishState
from portal.search.registry import Document
from portal.text import render_markdown


def markdown_text(text: str | None) -> str:
    """Markdown as the plain text a reader sees: no syntax, no tags."""
    return html.unescape(strip_tags(render_markdown(text or ""))).strip()


def publishable_document(obj, *, title: str, parts: list[str | None], date=None) -> Document | None:
    """The document of a Publishable: none for a draft; a scheduled one is filtered at query time."""
    if obj.state != PublishState.PUBLISHED or obj.published_at is None:
        return None
    return Document(
        title=title,
        body="\n".join(p.strip() for p in parts if p and p.strip()),
        url=obj.get_absolute_url(),
        date=date or obj.published_at,
        published_at=obj.published_at,
        unpublish_at=getattr(obj, "unpublish_at", None),
        is_sample=getattr(obj, "is_sample", False),
    )
