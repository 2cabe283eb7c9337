"""What the search index holds: each registered model says how its objects read as documents."""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class Document:
    title: str
    body: str
    url: str
    date: object  # datetime: recency for ranking
    published_at: object  # datetime: not shown before this
    unpublish_at: object = None  # datetime or None: not shown from this on
    is_sample: bool = False


@dataclass(frozen=True)
class Kind:
    key: str  # "initiative", "news", …
    code: int  # 1-9: orders rank keys by kind (see engine.rank_key)
    model: type
    label: Promise  # plural, for headings: 取組, 新着情報 …
    documents: Callable  # (obj, language) -> Document | None (None: not indexed)
    queryset: Callable  # () -> the objects that may be indexed (published or scheduled)
    list_url: str | None = None  # URL name of the kind's own list page with a keyword box


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    for other in _KINDS.values():
        if other.code == kind.code and other.key != kind.key:
            raise ValueError(f"search kind code {kind.code} is taken by {other.key}")
    _KINDS[kind.key] = kind


def kinds() -> list[Kind]:
    return sorted(_KINDS.values(), key=lambda k: k.code)


def kind_for_key(key: str) -> Kind | None:
    return _KINDS.get(key)


def kind_for_model(model) -> Kind | None:
    for kind in _KINDS.values():
        if kind.model is model:
            return kind
    return None
