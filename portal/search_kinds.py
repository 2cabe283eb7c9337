"""The portal's own content in the search index: news and site pages."""

from django.utils.translation import gettext_lazy as _

from portal.models import NewsItem, Page
from portal.publishing import PublishState
from portal.search.documents import markdown_text, publishable_document
from portal.search.engine import connect
from portal.search.registry import Kind


def news_document(item: NewsItem, language: str):
    return publishable_document(item, title=item.title, parts=[item.summary, markdown_text(item.body)])


def page_document(page: Page, language: str):
    return publishable_document(page, title=page.title, parts=[page.lead, markdown_text(page.body)])


def register() -> None:
    connect(
        Kind(
            key="news",
            code=2,
            model=NewsItem,
            label=_("新着情報"),
            documents=news_document,
            queryset=lambda: NewsItem.objects.filter(state=PublishState.PUBLISHED),
            list_url="portal:news_list",
        )
    )
    connect(
        Kind(
            key="page",
            code=3,
            model=Page,
            label=_("サイトの案内"),
            documents=page_document,
            queryset=lambda: Page.objects.filter(state=PublishState.PUBLISHED),
        )
    )
