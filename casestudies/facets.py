"""Facet counts of the case-study list, read from a small table of pre-counted cells.

Counting 100,000 cases five ways on every request costs hundreds of milliseconds. Instead,
``FacetCell`` holds how many public cases share each (prefecture, population band, theme, fiscal
year), with theme 0, year 0, prefecture "" and band "*" meaning "any" so that every case counts
once there. Every facet of any combination of filters is then a sum over a few dozen cells read
from a covering index: one query for all facets and the total.

The cells are rebuilt by one INSERT … SELECT:
- after every change to a case or its themes (signals mark them stale inside the editor's
  transaction, and the rebuild runs when it commits);
- when the moment they hold until has passed: the next scheduled publish time of a case, or the
  start of the next fiscal year (ongoing cases count up to the current one). The first request
  after that rebuilds them, so nothing waits for a cron job.
"""

import datetime
import logging
import time

from django.db import DatabaseError, connection, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from casestudies.models import CaseStudy, FacetCell, FacetState
from portal import pagecache, theme_masks
from portal.publishing import PublishState
from portal.text import fiscal_year

logger = logging.getLogger(__name__)
ANY = 0  # theme and year: any
ANY_PLACE = ""  # prefecture: any (the sum over all prefectures, kept as rows of its own)
ANY_BAND = "*"  # population band: any ("" is a case whose population is not given)
FIRST_YEAR = 2008


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _build_sql() -> str:
    case, themes, cell = (
        _table(CaseStudy),
        _table(CaseStudy.themes.through),
        _table(FacetCell),
    )
    # Cases are grouped by their years first (a few thousand groups), then spread over the years
    # they cover, so the years are joined to groups, not to every case.
    return f"""
        INSERT INTO {cell} (prefecture, band, theme, year, n)
        WITH RECURSIVE years(y) AS (
            SELECT CAST(%s AS INTEGER) UNION ALL SELECT y + 1 FROM years WHERE y < CAST(%s AS INTEGER)
        ),
        picked AS (
            SELECT id, prefecture_id, population_band, fiscal_year_start AS ys,
                   CAST(COALESCE(fiscal_year_end, %s) AS INTEGER) AS ye
            FROM {case} WHERE state = %s AND published_at <= %s
                  AND (unpublish_at IS NULL OR unpublish_at > %s)
        ),
        tagged AS (
            SELECT p.prefecture_id, p.population_band, t.theme_id AS theme, p.ys, p.ye
            FROM picked p JOIN {themes} t ON t.casestudy_id = p.id
            UNION ALL
            SELECT prefecture_id, population_band, 0, ys, ye FROM picked
        ),
        grouped AS (
            SELECT prefecture_id, population_band, theme, ys, ye, COUNT(*) AS n
            FROM tagged GROUP BY prefecture_id, population_band, theme, ys, ye
        ),
        rolled AS (
            SELECT CASE WHEN r.any_place = 1 THEN '{ANY_PLACE}' ELSE g.prefecture_id END AS prefecture,
                   CASE WHEN r.any_band = 1 THEN '{ANY_BAND}' ELSE g.population_band END AS band,
                   g.theme, g.ys, g.ye, g.n
            FROM grouped g CROSS JOIN (
                SELECT 0 AS any_place, 0 AS any_band UNION ALL SELECT 1, 0 UNION ALL SELECT 0, 1
                UNION ALL SELECT 1, 1
            ) r
        )
        SELECT prefecture, band, theme, 0, SUM(n)
        FROM rolled GROUP BY prefecture, band, theme
        UNION ALL
        SELECT r.prefecture, r.band, r.theme, years.y, SUM(r.n)
        FROM rolled r JOIN years ON years.y >= r.ys AND years.y <= r.ye
        GROUP BY r.prefecture, r.band, r.theme, years.y
    """


def next_fiscal_year_start(now: datetime.datetime) -> datetime.datetime:
    year = fiscal_year(timezone.localtime(now).date()) + 1
    return datetime.datetime(year, 4, 1, tzinfo=timezone.get_current_timezone())


def rebuild(*, now: datetime.datetime | None = None, force: bool = True) -> None:
    """Count the public cases into FacetCell again. With force=False, only if they are stale."""
    now = now or timezone.now()
    with transaction.atomic():
        # One rebuild at a time: the state row is locked (SQLite's write transaction already is).
        state = FacetState.objects.select_for_update().filter(pk=1).first()
        if state and not force and state.valid_until > now.timestamp():
            return
        current = fiscal_year(timezone.localtime(now).date())
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {_table(FacetCell)}")
            cursor.execute(_build_sql(), [FIRST_YEAR, current, current, PublishState.PUBLISHED, now, now])
        # Valid until a case appears or goes by its own times, or the fiscal year turns.
        until = min(filter(None, [CaseStudy.objects.next_change(after=now), next_fiscal_year_start(now)]))
        FacetState.objects.update_or_create(
            pk=1,
            defaults={"built_at": now, "valid_until": int(until.timestamp()), "version": time.time_ns() // 1000},
        )
        pagecache.bump_tables(FacetCell)  # written with SQL of its own


def mark_stale() -> None:
    FacetState.objects.filter(pk=1).update(valid_until=0)


def _rebuild_after_commit() -> None:
    try:
        rebuild(force=False)
    except DatabaseError:  # the change is saved; the next list request rebuilds instead
        logger.exception("Rebuilding the case-study facet counts failed")


def _changed(**kwargs) -> None:
    """A case or its themes changed: stale now (inside the transaction), rebuilt on commit, once
    per transaction however many rows it changes (an import, a bulk action)."""
    mark_stale()
    if any(entry[1] is _rebuild_after_commit for entry in connection.run_on_commit):
        return
    transaction.on_commit(_rebuild_after_commit)


def connect() -> None:
    from portal.models import Municipality, Prefecture, Theme

    # The names of themes and places show on the list's cards, which are kept per version.
    for model in (CaseStudy, Theme, Prefecture, Municipality):
        post_save.connect(_changed, sender=model, dispatch_uid="casestudies.facets")
        post_delete.connect(_changed, sender=model, dispatch_uid="casestudies.facets")
    theme_masks.keep_in_step(CaseStudy, then=_changed)


def counts(*, theme: int, year: int, prefs: list[str], band: str, now: datetime.datetime | None = None) -> dict:
    """All facet counts for these filters in one query: {"pref": {code: n}, "theme": {pk: n},
    "year": {year: n}, "band": {band: n}, "version": the cells' version}. ``theme`` and ``year``
    are 0 when not filtered; ``prefs`` lists the prefectures the place filter allows (empty: all)."""
    now = now or timezone.now()
    result = _read(theme=theme, year=year, prefs=prefs, band=band)
    if result is None or result["valid_until"] <= now.timestamp():
        rebuild(now=now, force=False)
        result = _read(theme=theme, year=year, prefs=prefs, band=band)
    return result


def _read(*, theme: int, year: int, prefs: list[str], band: str) -> dict | None:
    cell, state = _table(FacetCell), _table(FacetState)
    # Each part has its covering index. SQLite is told which (its planner, without fresh
    # statistics, may skip-scan another); PostgreSQL's planner finds them by itself.
    sqlite = connection.vendor == "sqlite"

    def using(index: str) -> str:
        return f"{cell} INDEXED BY {index}" if sqlite else cell

    place = f"prefecture IN ({', '.join(['%s'] * len(prefs))})" if prefs else "prefecture = %s"
    place_params = prefs or [ANY_PLACE]
    band_params = [band or ANY_BAND]
    parts = [
        # Prefecture: every filter but the place.
        (
            f"SELECT 'p', prefecture, SUM(n) FROM {using('case_facet_pref_idx')}"
            " WHERE theme = %s AND year = %s AND band = %s AND prefecture <> %s GROUP BY prefecture",
            [theme, year, *band_params, ANY_PLACE],
        ),
        # Theme: every filter but the theme.
        (
            f"SELECT 't', CAST(theme AS VARCHAR(12)), SUM(n) FROM {using('case_facet_theme_idx')}"
            f" WHERE year = %s AND {place} AND band = %s AND theme <> 0 GROUP BY theme",
            [year, *place_params, *band_params],
        ),
        # Year: every filter but the year.
        (
            f"SELECT 'y', CAST(year AS VARCHAR(12)), SUM(n) FROM {using('case_facet_year_idx')}"
            f" WHERE theme = %s AND {place} AND band = %s AND year <> 0 GROUP BY year",
            [theme, *place_params, *band_params],
        ),
        # Population band: every filter but the band.
        (
            f"SELECT 'b', band, SUM(n) FROM {using('case_facet_band_idx')}"
            f" WHERE theme = %s AND year = %s AND {place} AND band <> %s GROUP BY band",
            [theme, year, *place_params, ANY_BAND],
        ),
        (f"SELECT 'v', CAST(version AS VARCHAR(24)), valid_until FROM {state} WHERE id = 1", []),
    ]
    sql = " UNION ALL ".join(f"SELECT * FROM ({part}) AS f{i}" for i, (part, _) in enumerate(parts))
    params = [p for _, part_params in parts for p in part_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = {"pref": {}, "theme": {}, "year": {}, "band": {}, "valid_until": None, "version": None}
    names = {"p": "pref", "t": "theme", "y": "year", "b": "band"}
    for facet, value, n in rows:
        if facet == "v":
            result["valid_until"], result["version"] = n, int(value)
        elif facet in ("t", "y"):
            result[names[facet]][int(value)] = int(n)
        else:
            result[names[facet]][value] = int(n)
    return None if result["valid_until"] is None else result
