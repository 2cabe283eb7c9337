"""Parsing what a visitor typed into terms the engine can run.

- Half- and full-width spaces separate terms; every term must match.
- "…" (also 「“…”」) matches a phrase, spaces included.
- -term excludes a term.
- Anything else, SQL and FTS syntax included (" * : % _ ( ) NEAR AND OR), is plain text.
"""

import re
from dataclasses import dataclass, field

from portal.search.normalize import normalize, runs

MAX_QUERY_LENGTH = 200

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "「": '"', "」": '"'})
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Term:
    text: str  # normalised, as typed (a phrase may hold spaces)
    runs: tuple[str, ...]  # its runs of letters and digits: what the index can find
    exclude: bool = False


@dataclass
class Query:
    raw: str
    truncated: bool = False
    terms: list[Term] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # terms with nothing searchable in them

    @property
    def include(self) -> list[Term]:
        return [t for t in self.terms if not t.exclude]

    @property
    def exclude(self) -> list[Term]:
        return [t for t in self.terms if t.exclude]

    @property
    def is_empty(self) -> bool:
        return not self.include

    @property
    def words(self) -> list[str]:
        """Normalised runs to highlight in results."""
        return sorted({r for t in self.include for r in t.runs}, key=len, reverse=True)


def parse(raw: str | None) -> Query:
    raw = raw or ""
    truncated = len(raw) > MAX_QUERY_LENGTH
    if truncated:
        raw = raw[:MAX_QUERY_LENGTH]
    text = normalize(raw.translate(_QUOTES)).replace("\n", " ").replace("\t", " ")
    query = Query(raw=raw, truncated=truncated)
    for match in _TOKEN.finditer(text):
        minus, phrase, word = match.groups()
        exclude = False
        if phrase is not None:
            body, exclude = phrase.strip(), bool(minus)
        else:
            body = word
            if body.startswith("-") and len(body) > 1:
                body, exclude = body[1:], True
        term_runs = tuple(runs(body))
        if not term_runs:
            if body:
                query.ignored.append(body)
            continue
        term = Term(text=body, runs=term_runs, exclude=exclude)
        if term not in query.terms:
            query.terms.append(term)
    return query
