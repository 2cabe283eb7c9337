"""The portal's one search engine: indexing and querying, on SQLite and PostgreSQL.

Documents and queries are normalised the same way (portal.search.normalize). The index holds
character bigrams, so two-character words (観光, 移住) are found from an index on both databases,
whatever the database's locale:

- SQLite: one contentless FTS5 table per language whose rowid is the entry's ``rank_key``; a
  term is an FTS5 phrase of consecutive bigrams, which is an exact substring match.
- PostgreSQL: GIN indexes over the distinct tokens of title+body and of the title; candidates are
  re-checked against the normalised text with strpos, exactly while there are few of them, and
  counted as 「約N件」 above ``RECHECK_LIMIT``.

Ranking: entries whose title holds every term come first, then the rest, each newest first.
docs/decisions/0006-search.md records why and what was measured.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from portal.search import registry
from portal.search.normalize import distinct_tokens, document_tokens, normalize, normalize_with_map, run_tokens
from portal.search.query import Query, Term

LANGUAGES = ("ja", "en")
KIND_SPAN = 10**16  # rank_key = kind code · KIND_SPAN + minutes since 1970 · MINUTE_SPAN + object id
MINUTE_SPAN = 10**8
COUNT_CAP = 1000  # counts stop here: 「1,000件以上」 (a reader narrows the search long before)
RECHECK_LIMIT = COUNT_CAP  # PostgreSQL: every count up to the cap is re-checked, so exact
SNIPPET_BEFORE, SNIPPET_AFTER = 40, 90


def rank_key(kind_code: int, date, object_id: int) -> int:
    minutes = max(0, int(date.timestamp() // 60))
    return kind_code * KIND_SPAN + minutes * MINUTE_SPAN + object_id % MINUTE_SPAN


def kind_bounds(kind: registry.Kind) -> tuple[int, int]:
    return kind.code * KIND_SPAN, (kind.code + 1) * KIND_SPAN - 1


def fts_table(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(language)
    return f"portal_search_fts_{language}"


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


# Indexing ----------------------------------------------------------------------------------


def _entry(kind: registry.Kind, obj, language: str, doc: registry.Document):
    from portal.models import SearchEntry

    title_norm, body_norm = normalize(doc.title), normalize(doc.body)
    return SearchEntry(
        kind=kind.key,
        object_id=obj.pk,
        language=language,
        rank_key=rank_key(kind.code, doc.date, obj.pk),
        url=doc.url,
        title=doc.title,
        body=doc.body,
        title_norm=title_norm,
        body_norm=body_norm,
        date=doc.date,
        published_at=doc.published_at,
        unpublish_at=doc.unpublish_at,
        is_sample=doc.is_sample,
    )


def _fts_rows(entries) -> dict[str, list[tuple[int, str, str]]]:
    rows = defaultdict(list)
    for e in entries:
        rows[e.language].append(
            (e.rank_key, " ".join(document_tokens(e.title_norm)), " ".join(document_tokens(e.body_norm)))
        )
    return rows


def _write(entries) -> None:
    from portal.models import SearchEntry

    SearchEntry.objects.bulk_create(entries, batch_size=500)
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO portal_searchtokens (entry_id, language, kind, tokens, title_tokens) "
                "VALUES (%s, %s, %s, %s, %s)",
                [
                    (
                        e.pk,
                        e.language,
                        e.kind,
                        sorted(distinct_tokens(e.title_norm + "\n" + e.body_norm)),
                        sorted(distinct_tokens(e.title_norm)),
                    )
                    for e in entries
                ],
            )
    else:
        with connection.cursor() as cursor:
            for language, rows in _fts_rows(entries).items():
                cursor.executemany(f"INSERT INTO {fts_table(language)}(rowid, title, body) VALUES (%s, %s, %s)", rows)


def _remove(entries_qs) -> None:
    entries = list(entries_qs)
    if not entries:
        return
    if not is_postgresql():
        with connection.cursor() as cursor:
            for language, rows in _fts_rows(entries).items():
                table = fts_table(language)
                cursor.executemany(
                    f"INSERT INTO {table}({table}, rowid, title, body) VALUES ('delete', %s, %s, %s)", rows
                )
    type(entries[0]).objects.filter(pk__in=[e.pk for e in entries]).delete()


def documents_for(kind: registry.Kind, obj) -> list[tuple[str, registry.Document]]:
    out = []
    for language in LANGUAGES:
        with translation.override(language):
            doc = kind.documents(obj, language)
        if doc is not None:
            out.append((language, doc))
    return out


def index_objects(kind: registry.Kind, objs, *, replace: bool = True) -> int:
    """(Re)index objects of one kind; an object whose documents() gives None leaves the index.

    ``replace=False`` skips removing old entries, for objects known to have none (a rebuild after
    clear(), freshly made sample data).
    """
    from portal.models import SearchEntry

    objs = list(objs)
    if not objs:
        return 0
    with transaction.atomic():
        if replace:
            _remove(SearchEntry.objects.filter(kind=kind.key, object_id__in=[o.pk for o in objs]))
        entries = [_entry(kind, obj, language, doc) for obj in objs for language, doc in documents_for(kind, obj)]
        _write(entries)
    return len(entries)


def remove_object(kind: registry.Kind, pk) -> None:
    from portal.models import SearchEntry

    with transaction.atomic():
        _remove(SearchEntry.objects.filter(kind=kind.key, object_id=pk))


def clear(kind: registry.Kind) -> None:
    """Empty the index of one kind (before a rebuild)."""
    from portal.models import SearchEntry, SearchTokens

    with transaction.atomic():
        entries = SearchEntry.objects.filter(kind=kind.key)
        if is_postgresql():
            SearchTokens.objects.filter(kind=kind.key).delete()
            entries.delete()
        else:
            _remove(entries)


def _on_save(sender, instance, raw=False, **kwargs):
    if raw:  # loaddata
        return
    kind = registry.kind_for_model(sender)
    if kind:
        index_objects(kind, [instance])


def _on_delete(sender, instance, **kwargs):
    kind = registry.kind_for_model(sender)
    if kind:
        remove_object(kind, instance.pk)


def connect(kind: registry.Kind) -> None:
    """Keep the index in step with saves, publishes, unpublishes and deletes of ``kind.model``."""
    registry.register(kind)
    uid = f"portal.search:{kind.key}"
    post_save.connect(_on_save, sender=kind.model, dispatch_uid=uid)
    post_delete.connect(_on_delete, sender=kind.model, dispatch_uid=uid)


# Querying ----------------------------------------------------------------------------------


@dataclass
class Hit:
    kind: str
    object_id: int
    url: str
    title: str
    title_html: SafeString
    snippet_html: SafeString
    date: object
    is_sample: bool


EXACT, ABOUT, AT_LEAST = "", "about", "at_least"


@dataclass
class KindResult:
    kind: registry.Kind
    count: int
    bound: str  # EXACT; ABOUT (PostgreSQL, not re-checked above RECHECK_LIMIT); AT_LEAST above COUNT_CAP
    hits: list[Hit] = field(default_factory=list)

    @property
    def approximate(self) -> bool:
        return self.bound != EXACT


@dataclass
class SearchResult:
    query: Query
    groups: list[KindResult]

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def bound(self) -> str:
        bounds = {g.bound for g in self.groups}
        return AT_LEAST if AT_LEAST in bounds else (ABOUT if ABOUT in bounds else EXACT)

    @property
    def approximate(self) -> bool:
        return self.bound != EXACT


def search(
    query: Query, *, language: str, kinds: list[str] | None = None, limit: int = 5, offset: int = 0, now=None
) -> SearchResult:
    """Counts per kind, and for each kind its ``limit`` best hits from ``offset`` on."""
    from portal.models import SearchEntry

    selected = [k for k in registry.kinds() if kinds is None or k.key in kinds]
    if query.is_empty or not selected:
        return SearchResult(query, [KindResult(k, 0, EXACT) for k in selected])
    now = now or timezone.now()
    backend = _PostgresBackend(query, language, now) if is_postgresql() else _SqliteBackend(query, language, now)
    with backend.session():
        counts = backend.counts(selected, offset)
        ranked = backend.top([k for k in selected if counts[k.key][0] > offset], counts, limit, offset)
    keys = [key for keys in ranked.values() for key in keys]
    entries = {e.rank_key: e for e in SearchEntry.objects.filter(language=language, rank_key__in=keys)} if keys else {}
    words = query.words
    groups = []
    for kind in selected:
        count, bound = counts[kind.key]
        hits = [_hit(entries[key], words) for key in ranked.get(kind.key, []) if key in entries]
        groups.append(KindResult(kind, count, bound, hits))
    return SearchResult(query, groups)


MATCHING_LIMIT = 10_000  # a list page's keyword box narrows within the best 10,000 hits


def matching_object_ids(query: Query, *, kind: str, language: str, now=None) -> list[int]:
    """The objects of ``kind`` the query matches, best first, up to MATCHING_LIMIT (for a list page's
    keyword box). The ids come from the rank keys themselves: no entry is read."""
    selected = [k for k in registry.kinds() if k.key == kind]
    if query.is_empty or not selected:
        return []
    now = now or timezone.now()
    if is_postgresql():
        backend = _PostgresBackend(query, language, now)
        with backend.session():
            keys = backend.ranked_all(selected[0], MATCHING_LIMIT)
        return [key % MINUTE_SPAN for key in keys]
    backend = _SqliteBackend(query, language, now)
    with backend.session():
        counts = backend.counts(selected, 0)
        ranked = backend.top([k for k in selected if counts[k.key][0] > 0], counts, MATCHING_LIMIT, 0)
    return [key % MINUTE_SPAN for key in ranked.get(kind, [])]


class _SqliteBackend:
    def __init__(self, query: Query, language: str, now):
        self.query, self.language, self.now = query, language, now
        self.table = fts_table(language)
        include = " AND ".join(self._phrase(t) for t in query.include)
        exclude = " OR ".join(self._phrase(t) for t in query.exclude)
        not_excluded = f" NOT ({exclude})" if exclude else ""
        self.match_all = f"({include}){not_excluded}"
        self.match_title = f"({{title}} : ({include})){not_excluded}"
        self.match_body = f"({include}) NOT ({{title}} : ({include})){not_excluded}"
        self.hidden = self._hidden()

    def session(self):
        return contextlib.nullcontext()  # plain reads: no transaction (SQLite's would lock writers)

    @staticmethod
    def _phrase(term: Term) -> str:
        """One FTS5 phrase: the bigram tokens of the term's runs in order; a final lone character is a
        prefix (it may be the first character of a bigram in the document)."""
        tokens: list[str] = []
        for i, run in enumerate(term.runs):
            run_tok = run_tokens(run)
            last = i == len(term.runs) - 1
            tokens.extend(run_tok[:-1] if (last and len(run) > 1) else run_tok)
        prefix = "*" if len(term.runs[-1]) == 1 else ""
        return '"' + " ".join(tokens) + '"' + prefix

    def _hidden(self) -> list[int]:
        """rank_keys of entries not public at ``now`` (scheduled or expired): few, so listed."""
        from portal.models import SearchEntry

        # Two indexed look-ups in one query (an OR would scan the table). An object's entries in
        # both languages share its rank_key, so the language needs no filter here.
        entries = SearchEntry.objects.all()
        scheduled = entries.filter(published_at__gt=self.now).values_list("rank_key", flat=True)
        expired = entries.filter(unpublish_at__lte=self.now).values_list("rank_key", flat=True)
        return list(scheduled.union(expired))

    def _where(self, bounds=None) -> tuple[str, list]:
        sql, params = "", []
        if bounds:
            sql += " AND rowid BETWEEN %s AND %s"
            params += list(bounds)
        if self.hidden:
            sql += f" AND rowid NOT IN ({', '.join(['%s'] * len(self.hidden))})"
            params += self.hidden
        return sql, params

    def _count_by_kind(self, match: str, kinds) -> dict[int, int]:
        """Matches per kind code, each counted up to COUNT_CAP + 1 (one query for all kinds)."""
        parts, params = [], []
        for kind in kinds:
            where, where_params = self._where(kind_bounds(kind))
            parts.append(
                f"SELECT {kind.code}, (SELECT count(*) FROM (SELECT 1 FROM {self.table} "
                f"WHERE {self.table} MATCH %s{where} LIMIT %s))"
            )
            params += [match, *where_params, COUNT_CAP + 1]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            return {code: n for code, n in cursor.fetchall() if n}

    def counts(self, kinds, offset: int = 0) -> dict[str, tuple[int, str]]:
        by_code = self._count_by_kind(self.match_all, kinds)
        with_hits = [k for k in kinds if k.code in by_code]
        # The first page needs no count of title hits: top() takes titles first and fills up.
        self.title_counts = self._count_by_kind(self.match_title, with_hits) if with_hits and offset else None
        out = {}
        for k in kinds:
            n = by_code.get(k.code, 0)
            out[k.key] = (COUNT_CAP, AT_LEAST) if n > COUNT_CAP else (n, EXACT)
        return out

    def _ranked(self, match: str, plan: list[tuple[registry.Kind, int, int]]) -> dict[str, list[int]]:
        parts, params = [], []
        for kind, limit, offset in plan:
            where, where_params = self._where(kind_bounds(kind))
            parts.append(
                f"SELECT * FROM (SELECT {kind.code} AS k, rowid AS r FROM {self.table} "
                f"WHERE {self.table} MATCH %s{where} ORDER BY rowid DESC LIMIT %s OFFSET %s)"
            )
            params += [match, *where_params, limit, offset]
        out = defaultdict(list)
        if parts:
            codes = {k.code: k.key for k, _, _ in plan}
            with connection.cursor() as cursor:
                cursor.execute(" UNION ALL ".join(parts), params)
                for code, key in cursor.fetchall():
                    out[codes[code]].append(key)
        return out

    def top(self, kinds, counts, limit, offset) -> dict[str, list[int]]:
        if self.title_counts is None:  # first page: the title hits, then as many others as fit
            first = self._ranked(self.match_title, [(k, limit, 0) for k in kinds])
            body_plan = [(k, limit - len(first.get(k.key, [])), 0) for k in kinds]
        else:
            title_plan, body_plan = [], []
            for kind in kinds:
                titles = self.title_counts.get(kind.code, 0)
                if offset < titles:
                    title_plan.append((kind, limit, offset))
                body_plan.append((kind, limit - max(0, min(titles - offset, limit)), max(0, offset - titles)))
            first = self._ranked(self.match_title, title_plan)
        second = self._ranked(self.match_body, [p for p in body_plan if p[1] > 0])
        return {k.key: first.get(k.key, []) + second.get(k.key, []) for k in kinds}


class _PostgresBackend:
    """Counts and candidates from the narrow table portal_searchtokens (GIN over tokens[]),
    re-checked against the normalised text in portal_searchentry."""

    def __init__(self, query: Query, language: str, now):
        self.query, self.language, self.now = query, language, now
        self.tokens = sorted({tok for t in query.include for tok in self._term_tokens(t)})
        self.base = (
            "language = %s AND published_at <= %s AND (unpublish_at IS NULL OR unpublish_at > %s)",
            [language, now, now],
        )
        self.hidden = self._hidden()

    @contextlib.contextmanager
    def session(self):
        """One transaction for the whole search, in which the planner may not scan the entry
        table: a frequent bigram makes it expect to keep many rows and choose to unpack every
        row's tokens (seconds), where the GIN index answers in milliseconds."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # until the transaction ends
            yield

    def _hidden(self) -> list[int]:
        """Ids of entries not public at ``now`` (scheduled or expired): few, so listed."""
        from portal.models import SearchEntry

        entries = SearchEntry.objects.filter(language=self.language)
        scheduled = entries.filter(published_at__gt=self.now).values_list("id", flat=True)
        expired = entries.filter(unpublish_at__lte=self.now).values_list("id", flat=True)
        return list(scheduled.union(expired))

    @staticmethod
    def _term_tokens(term: Term) -> list[str]:
        out = []
        for run in term.runs:
            out.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        return out

    @staticmethod
    def _text_match(term: Term, column: str) -> tuple[str, list]:
        if len(term.runs) == 1:
            return f"strpos({column}, %s) > 0", [term.runs[0]]
        pattern = "[^[:alnum:]]*".join(re.escape(r) for r in term.runs)
        return f"{column} ~ %s", [pattern]

    def _recheck(self) -> tuple[str, list]:
        sql, params = [], []
        for term in self.query.include:
            a, pa = self._text_match(term, "e.title_norm")
            b, pb = self._text_match(term, "e.body_norm")
            sql.append(f"({a} OR {b})")
            params += pa + pb
        for term in self.query.exclude:
            a, pa = self._text_match(term, "e.title_norm")
            b, pb = self._text_match(term, "e.body_norm")
            sql.append(f"NOT ({a} OR {b})")
            params += pa + pb
        return " AND ".join(sql), params

    def _title_hit(self) -> tuple[str, list]:
        sql, params = [], []
        for term in self.query.include:
            a, pa = self._text_match(term, "e.title_norm")
            sql.append(a)
            params += pa
        return " AND ".join(sql), params

    def _candidates(self, column: str = "tokens") -> tuple[str, list]:
        """The token test on the narrow table t, visible entries only."""
        return (
            f"t.language = %s AND t.kind = %s AND t.{column} @> %s::text[] AND NOT (t.entry_id = ANY(%s))",
            [self.language, None, self.tokens, self.hidden],
        )

    def _candidate_params(self, kind_key: str, params: list) -> list:
        return [kind_key if p is None else p for p in params]

    def counts(self, kinds, offset: int = 0) -> dict[str, tuple[int, str]]:
        cand, cand_params = self._candidates()
        parts, params = [], []
        title_cand, title_params = self._candidates("title_tokens")
        for kind in kinds:
            # With the candidates, the candidates by title: top() takes a kind with many of both
            # from the date index, and one with few title candidates from the GIN index.
            parts.append(
                f"SELECT %s, (SELECT count(*) FROM (SELECT 1 FROM portal_searchtokens t WHERE {cand} LIMIT %s) s), "
                f"(SELECT count(*) FROM (SELECT 1 FROM portal_searchtokens t WHERE {title_cand} LIMIT %s) s)"
            )
            params += [
                kind.key,
                *self._candidate_params(kind.key, cand_params),
                COUNT_CAP + 1,
                *self._candidate_params(kind.key, title_params),
                RECHECK_LIMIT + 1,
            ]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            found = cursor.fetchall()
            candidates = {key: n for key, n, _t in found if n}
            self.title_candidates = {key: t for key, _n, t in found}
            exact = {}
            few = [key for key, n in candidates.items() if n <= RECHECK_LIMIT]
            if few:
                recheck, recheck_params = self._recheck()
                cursor.execute(
                    "SELECT t.kind, count(*) FROM portal_searchtokens t JOIN portal_searchentry e ON e.id = t.entry_id "
                    "WHERE t.language = %s AND t.kind = ANY(%s) AND t.tokens @> %s::text[] "
                    f"AND NOT (t.entry_id = ANY(%s)) AND {recheck} GROUP BY t.kind",
                    [self.language, few, self.tokens, self.hidden, *recheck_params],
                )
                exact = dict(cursor.fetchall())
        self.candidates = candidates
        out = {}
        for k in kinds:
            n = candidates.get(k.key, 0)
            if n <= RECHECK_LIMIT:
                out[k.key] = (exact.get(k.key, 0), EXACT)
            else:
                out[k.key] = (COUNT_CAP, AT_LEAST) if n > COUNT_CAP else (n, ABOUT)
        return out

    def ranked_all(self, kind, limit: int) -> list[int]:
        """Every hit of one kind, best first, up to ``limit``, in one query whatever their number
        (a list page's keyword box: its query count must not depend on the data)."""
        recheck, recheck_params = self._recheck()
        title_hit, title_params = self._title_hit()
        cand, cand_params = self._candidates()
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH c AS MATERIALIZED (SELECT e.rank_key, e.date, {title_hit} AS th "
                "FROM portal_searchtokens t JOIN portal_searchentry e ON e.id = t.entry_id "
                f"WHERE {cand} AND {recheck}) "
                "SELECT rank_key FROM c ORDER BY th DESC, date DESC, rank_key DESC LIMIT %s",
                [*title_params, *self._candidate_params(kind.key, cand_params), *recheck_params, limit],
            )
            return [row[0] for row in cursor.fetchall()]

    def top(self, kinds, counts, limit, offset) -> dict[str, list[int]]:
        """The page of each kind, best first, in at most three statements whatever the number of
        kinds: the GIN queries of every kind in one, the date-index walks in another (with bitmap
        scans off between them)."""
        base, base_params = self.base
        recheck, recheck_params = self._recheck()
        title_hit, title_params = self._title_hit()
        cand, cand_params = self._candidates()
        title_cand, title_cand_params = self._candidates("title_tokens")
        gin, gin_params, walks, walk_params = [], [], [], []
        for kind in kinds:
            if self.candidates.get(kind.key, 0) <= RECHECK_LIMIT:
                # Few candidates: take them all from the GIN index, re-check and sort.
                gin.append(
                    f"(WITH c AS MATERIALIZED (SELECT e.rank_key, e.date, {title_hit} AS th "
                    "FROM portal_searchtokens t JOIN portal_searchentry e ON e.id = t.entry_id "
                    f"WHERE {cand} AND {recheck}) "
                    "SELECT %s, 0, rank_key, date, th FROM c "
                    "ORDER BY th DESC, date DESC, rank_key DESC LIMIT %s OFFSET %s)"
                )
                gin_params += [
                    *title_params,
                    *self._candidate_params(kind.key, cand_params),
                    *recheck_params,
                    kind.key,
                    limit,
                    offset,
                ]
                continue
            # Many candidates: the title hits first, then the newest matching rows, walking the
            # date index of the entries with the exact text tests (at this density a few dozen rows
            # give a page). Both parts are read up to offset + limit and the page cut from them.
            if self.title_candidates.get(kind.key, 0) > RECHECK_LIMIT:
                walks.append(
                    f"(SELECT %s, 1, e.rank_key, e.date, true FROM portal_searchentry e WHERE {base} AND e.kind = %s "
                    f"AND {title_hit} AND {recheck} ORDER BY e.date DESC, e.rank_key DESC LIMIT %s)"
                )
                walk_params += [kind.key, *base_params, kind.key, *title_params, *recheck_params, offset + limit]
            else:
                gin.append(
                    f"(SELECT %s, 1, e.rank_key, e.date, true FROM portal_searchtokens t "
                    f"JOIN portal_searchentry e ON e.id = t.entry_id WHERE {title_cand} AND {title_hit} AND {recheck} "
                    "ORDER BY e.date DESC, e.rank_key DESC LIMIT %s)"
                )
                gin_params += [
                    kind.key,
                    *self._candidate_params(kind.key, title_cand_params),
                    *title_params,
                    *recheck_params,
                    offset + limit,
                ]
            walks.append(
                f"(SELECT %s, 2, e.rank_key, e.date, false FROM portal_searchentry e WHERE {base} AND e.kind = %s "
                f"AND {recheck} AND NOT ({title_hit}) ORDER BY e.date DESC, e.rank_key DESC LIMIT %s)"
            )
            walk_params += [kind.key, *base_params, kind.key, *recheck_params, *title_params, offset + limit]
        rows = []
        with connection.cursor() as cursor:
            if gin:
                cursor.execute(" UNION ALL ".join(gin), gin_params)
                rows += cursor.fetchall()
            if walks:
                # The planner misjudges how many rows the exact text tests keep and would rather
                # sort every candidate: no bitmap scans for the walks (until the search ends).
                cursor.execute("SET LOCAL enable_bitmapscan = off")
                cursor.execute(" UNION ALL ".join(walks), walk_params)
                rows += cursor.fetchall()
        out = {kind.key: [] for kind in kinds}
        parts: dict[tuple[str, int], list] = {}
        for key, part, rank_key, date, th in rows:
            parts.setdefault((key, part), []).append((th, date, rank_key))
        for (key, part), found in parts.items():
            found.sort(reverse=True)
            parts[(key, part)] = [rank_key for _th, _date, rank_key in found]
        for kind in kinds:
            if (kind.key, 0) in parts:
                out[kind.key] = parts[(kind.key, 0)]
            else:
                merged = parts.get((kind.key, 1), []) + parts.get((kind.key, 2), [])
                out[kind.key] = merged[offset : offset + limit]
        return out


# Presenting ------------------------------------------------------------------------------


def _spans(text: str, words: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Positions, in ``text``, of the characters whose normalised form matches one of ``words``."""
    normalized, index = normalize_with_map(text)
    spans = []
    for word in words:
        start = normalized.find(word)
        while start != -1:
            end = start + len(word)
            # A match ends where the next normalised character's original begins.
            spans.append((index[start], index[end] if end < len(index) else len(text)))
            start = normalized.find(word, end)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return normalized, merged


def highlight(text: str, words: list[str]) -> SafeString:
    """``text`` HTML-escaped, with the matched words in <mark>."""
    _, spans = _spans(text, words)
    out, pos = [], 0
    for a, b in spans:
        out.append(html.escape(text[pos:a]))
        out.append(f"<mark>{html.escape(text[a:b])}</mark>")
        pos = b
    out.append(html.escape(text[pos:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece escaped above


def snippet(body: str, body_norm: str, words: list[str]) -> SafeString:
    """A short extract of ``body`` around the first match, escaped, with matches in <mark>."""
    first = min((p for p in (body_norm.find(w) for w in words) if p != -1), default=-1)
    if first == -1:
        text = body[: SNIPPET_BEFORE + SNIPPET_AFTER]
        return mark_safe(html.escape(text) + ("…" if len(body) > len(text) else ""))  # noqa: S308
    # NFKC rarely changes the length of Japanese text, so the position in the normalised text is
    # close to the one in the original; look in a generous window and mark what is there.
    start = max(0, first - SNIPPET_BEFORE)
    end = min(len(body), first + SNIPPET_AFTER)
    while start > 0 and not body[start - 1].isspace() and first - start < SNIPPET_BEFORE + 20:
        start -= 1
    text = body[start:end].replace("\n", " ")
    return mark_safe(  # noqa: S308 - highlight() escapes
        ("…" if start > 0 else "") + highlight(text, words) + ("…" if end < len(body) else "")
    )


def _hit(entry, words: list[str]) -> Hit:
    return Hit(
        kind=entry.kind,
        object_id=entry.object_id,
        url=entry.url,
        title=entry.title,
        title_html=highlight(entry.title, words),
        snippet_html=snippet(entry.body, entry.body_norm, words),
        date=entry.date,
        is_sample=entry.is_sample,
    )
