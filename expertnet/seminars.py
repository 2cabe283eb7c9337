"""地域力創造セミナー: the list (upcoming and past), the event page, iCalendar files and the Atom feed.

A seminar is upcoming until it has ended (one that is on now is still listed as upcoming, marked
開催中) and past afterwards. Drafts are shown only to editors, on the event page as a preview; the
list, the feed and the iCalendar files only ever hold published seminars.

The iCalendar files (RFC 5545) are written here rather than with a library: the portal writes one
kind of component (VEVENT) with a dozen properties, and what RFC 5545 asks of that output (CRLF
line ends, folding at 75 octets on character boundaries, TEXT escaping, UTC times) is a few lines,
tested in expertnet/tests/test_seminars.py.
"""

import datetime as dt
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Min, Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from expertnet.models import Expert, Seminar, SeminarSession
from portal import pagecache
from portal.i18n import shows_japanese_fallback
from portal.text import EN_MONTHS, wareki_year
from portal.views import paginate, preview_response

PER_PAGE = 20
FEED_SIZE = 50
WEEKDAYS_JA = "月火水木金土日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SPEAKER_FIELDS = ("id", "slug", "name_ja", "name_en", "state", "published_at", "unpublish_at", "is_sample")


# --- Queries ------------------------------------------------------------------------------------


def published():
    """Published seminars with what every list, feed and calendar shows of their place and theme."""
    return Seminar.objects.published().select_related("municipality__prefecture", "municipality__parent", "theme")


def next_boundary(now):
    """When the next published seminar starts or ends after ``now``: the lists change then."""
    times = published().aggregate(
        starts=Min("starts_at", filter=Q(starts_at__gt=now)), ends=Min("ends_at", filter=Q(ends_at__gt=now))
    )
    return min((t for t in times.values() if t is not None), default=None)


def upcoming(now=None):
    """Seminars that have not ended yet, the soonest first."""
    return published().filter(ends_at__gte=now or timezone.now()).order_by("starts_at", "id")


def past(now=None):
    """Seminars that have ended, the latest first."""
    return published().filter(ends_at__lt=now or timezone.now()).order_by("-starts_at", "-id")


def with_programme(queryset):
    """The seminars' programmes and speakers, in two queries however long the programmes are."""
    speakers = Expert.objects.only(*SPEAKER_FIELDS)
    sessions = SeminarSession.objects.prefetch_related(Prefetch("speakers", queryset=speakers))
    return queryset.prefetch_related(Prefetch("sessions", queryset=sessions))


# --- Dates as people read them ------------------------------------------------------------------


def _english() -> bool:
    return get_language() == "en"


def day_label(value: dt.date, *, with_year: bool = True) -> str:
    """令和9年(2027年)2月4日(木) or 2月4日(木); Thu 4 February 2027 or Thu 4 February."""
    if _english():
        label = f"{WEEKDAYS_EN[value.weekday()]} {value.day} {EN_MONTHS[value.month - 1]}"
        return f"{label} {value.year}" if with_year else label
    label = f"{value.month}月{value.day}日({WEEKDAYS_JA[value.weekday()]})"
    return f"{wareki_year(value)}({value.year}年){label}" if with_year else label


def _time(value: dt.datetime, label: str) -> SafeString:
    return format_html('<time datetime="{}">{}</time>', value.isoformat(timespec="minutes"), label)


def event_dates(starts_at: dt.datetime, ends_at: dt.datetime | None) -> SafeString:
    """A seminar's dates in <time> elements, the end written only as far as it differs from the start:

    令和9年(2027年)2月4日(木)13:00〜2月5日(金)12:00, or …2月4日(木)13:00〜17:00 on one day.
    """
    start = timezone.localtime(starts_at)
    end = timezone.localtime(ends_at) if ends_at else None
    english = _english()
    at = ", " if english else ""
    start_html = _time(start, f"{day_label(start.date())}{at}{start:%H:%M}")
    if end is None:
        return start_html
    if end.date() == start.date():
        return format_html("{}{}{}", start_html, "–" if english else "〜", _time(end, f"{end:%H:%M}"))
    same_year = end.year == start.year and not english
    end_html = _time(end, f"{day_label(end.date(), with_year=not same_year)}{at}{end:%H:%M}")
    return format_html("{}{}{}", start_html, " – " if english else "〜", end_html)


def time_range(starts_at: dt.datetime, ends_at: dt.datetime | None) -> SafeString:
    """13:10〜14:20 (a programme item's times; its day is the heading of its table)."""
    start = timezone.localtime(starts_at)
    dash = "–" if _english() else "〜"
    if ends_at is None:
        return format_html("{}{}", _time(start, f"{start:%H:%M}"), dash)
    end = timezone.localtime(ends_at)
    label = f"{end:%H:%M}" if end.date() == start.date() else f"{day_label(end.date(), with_year=False)} {end:%H:%M}"
    return format_html("{}{}{}", _time(start, f"{start:%H:%M}"), dash, _time(end, label))


def place_name(seminar: Seminar) -> str:
    """長野県飯田市 (municipality names are kept in Japanese on English pages too)."""
    municipality = seminar.municipality
    if _english():
        return f"{municipality.full_name}, {municipality.prefecture.name_en}"
    return f"{municipality.prefecture.name}{municipality.full_name}"


def place_html(seminar: Seminar) -> SafeString:
    """place_name() for pages: on an English page the Japanese name is marked as Japanese."""
    municipality = seminar.municipality
    if _english():
        return format_html('<span lang="ja">{}</span>, {}', municipality.full_name, municipality.prefecture.name_en)
    return format_html("{}", place_name(seminar))


def annotate(seminars, now) -> list[Seminar]:
    """The seminars with what their cards show: dates, place and whether they are on now."""
    out = []
    for seminar in seminars:
        seminar.dates = event_dates(seminar.starts_at, seminar.ends_at)
        seminar.place = place_html(seminar)
        seminar.is_ongoing = seminar.starts_at <= now <= seminar.ends_at
        out.append(seminar)
    return out


# --- Pages --------------------------------------------------------------------------------------


@require_safe
def seminar_list(request):
    now = timezone.now()
    page = paginate(request, past(now), PER_PAGE)
    coming = annotate(upcoming(now), now) if page.number == 1 else []
    ended = annotate(page.object_list, now)
    pagecache.expires_at(request, lambda: next_boundary(now))  # a seminar starts or ends: it moves
    context = {
        "upcoming": coming,
        "past": ended,
        "page_obj": page,
        "has_sample": any(s.is_sample for s in [*coming, *ended]),
        "breadcrumbs": [(_("地域人材ネット"), reverse("expertnet:list")), (_("地域力創造セミナー"), None)],
        "noindex": any(name != "page" for name in request.GET),
    }
    return render(request, "expertnet/seminars/list.html", context)


def programme(seminar: Seminar) -> list[dict]:
    """The programme in one table per day: [{"date", "label", "rows": [{"session", "time", "speakers"}]}]."""
    days = []
    for session in seminar.sessions.all():
        day = timezone.localtime(session.starts_at).date()
        if not days or days[-1]["date"] != day:
            days.append({"date": day, "label": day_label(day, with_year=False), "rows": []})
        days[-1]["rows"].append(
            {
                "session": session,
                "time": time_range(session.starts_at, session.ends_at),
                "speakers": list(session.speakers.all()),
            }
        )
    return days


def json_ld(request, seminar: Seminar, speakers: list[Expert]) -> dict:
    """schema.org Event for search engines (rendered as a data block: no inline script to run)."""
    municipality = seminar.municipality
    return {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": seminar.title,
        "description": seminar.summary,
        "inLanguage": get_language(),
        "startDate": timezone.localtime(seminar.starts_at).isoformat(),
        "endDate": timezone.localtime(seminar.ends_at).isoformat(),
        "eventStatus": "https://schema.org/EventScheduled",
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "location": {
            "@type": "Place",
            "name": seminar.venue,
            "address": {
                "@type": "PostalAddress",
                "addressLocality": municipality.full_name,
                "addressRegion": municipality.prefecture.name,
                "addressCountry": "JP",
            },
        },
        "about": seminar.theme.name if seminar.theme else None,
        "maximumAttendeeCapacity": seminar.capacity,
        "performer": [
            {"@type": "Person", "name": e.name, "url": request.build_absolute_uri(e.get_absolute_url())}
            for e in speakers
            if e.is_public
        ]
        or None,
        "organizer": {"@type": "GovernmentOrganization", "name": _("総務省")},
        "url": request.build_absolute_uri(seminar.get_absolute_url()),
    }


@require_safe
def seminar_detail(request, slug):
    queryset = with_programme(
        Seminar.objects.visible_to(request.user).select_related(
            "municipality__prefecture", "municipality__parent", "theme"
        )
    ).prefetch_related("documents")
    seminar = get_object_or_404(queryset, slug=slug)
    now = timezone.now()
    pagecache.expires_at(request, min((t for t in (seminar.starts_at, seminar.ends_at) if t > now), default=None))
    days = programme(seminar)
    speakers = list({e.pk: e for day in days for row in day["rows"] for e in row["speakers"]}.values())
    context = {
        "seminar": seminar,
        "dates": event_dates(seminar.starts_at, seminar.ends_at),
        "place": place_html(seminar),
        "is_past": seminar.ends_at < now,
        "is_ongoing": seminar.starts_at <= now <= seminar.ends_at,
        "programme": days,
        "documents": list(seminar.documents.all()),
        "breadcrumbs": [
            (_("地域人材ネット"), reverse("expertnet:list")),
            (_("地域力創造セミナー"), reverse("expertnet:seminars")),
            (seminar.title, None),
        ],
        "is_preview": not seminar.is_public,
        "english_missing": shows_japanese_fallback(seminar, ("title", "venue", "summary", "application")),
        "json_ld": json_ld(request, seminar, speakers),
    }
    return preview_response(render(request, "expertnet/seminars/detail.html", context), seminar)


# --- iCalendar (RFC 5545) -----------------------------------------------------------------------

CRLF = "\r\n"
LINE_OCTETS = 75
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # TEXT allows no control character but HTAB


def ical_text(value) -> str:
    r"""A TEXT value (RFC 5545 3.3.11): backslash, ``;`` and ``,`` escaped, line breaks as ``\n``."""
    value = _CONTROLS.sub("", str(value or "").replace("\r\n", "\n").replace("\r", "\n"))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """A content line folded at 75 octets (RFC 5545 3.1), never inside a UTF-8 character: every
    continuation line starts with one space, which counts towards its 75 octets."""
    parts, current, size = [], [], 0
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > LINE_OCTETS:
            parts.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += octets
    parts.append("".join(current))
    return CRLF.join(parts)


def ical_utc(value: dt.datetime) -> str:
    """A DATE-TIME in UTC: 20270204T040000Z."""
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar_host(request) -> str:
    """The host named in every UID: the site's own (SITE_URL), else the one asked for."""
    return urlsplit(settings.SITE_URL).hostname or request.get_host().split(":")[0]


def event_description(request, seminar: Seminar) -> str:
    lines = []
    if seminar.is_sample:
        label = _("サンプルデータ")
        notice = _("この内容は動作確認のために作った架空のデータです。実在の事業・団体・人物とは関係ありません。")
        lines += [f"[{label}] {notice}", ""]
    lines.append(seminar.summary)
    sessions = list(seminar.sessions.all())
    if sessions:
        lines += ["", _("プログラム")]
        for session in sessions:
            start = timezone.localtime(session.starts_at)
            names = [e.name for e in session.speakers.all()]
            if session.other_speakers:
                names.append(session.other_speakers)
            if not names:
                speakers = ""
            elif _english():
                speakers = f" ({', '.join(names)})"
            else:
                speakers = f"({'、'.join(names)})"
            lines.append(
                f"{day_label(start.date(), with_year=False)} {start:%H:%M} "
                f"{session.get_kind_display()}: {session.title}{speakers}"
            )
    if seminar.application:
        lines += ["", _("参加申込み"), seminar.application]
    lines += ["", request.build_absolute_uri(seminar.get_absolute_url())]
    return "\n".join(lines)


def vevent(request, seminar: Seminar, host: str) -> list[str]:
    location = f"{place_name(seminar)} {seminar.venue}".strip()
    lines = [
        "BEGIN:VEVENT",
        f"UID:seminar-{seminar.slug}@{host}",
        f"DTSTAMP:{ical_utc(seminar.updated_at)}",
        f"DTSTART:{ical_utc(seminar.starts_at)}",
        f"DTEND:{ical_utc(seminar.ends_at)}",
        f"SUMMARY:{ical_text(seminar.title)}",
        f"LOCATION:{ical_text(location)}",
        f"DESCRIPTION:{ical_text(event_description(request, seminar))}",
        f"URL:{request.build_absolute_uri(seminar.get_absolute_url())}",
    ]
    categories = [seminar.theme.name] if seminar.theme else []
    if seminar.is_sample:
        categories.append(_("サンプルデータ"))
    if categories:
        lines.append("CATEGORIES:" + ",".join(ical_text(c) for c in categories))
    lines += [
        f"CREATED:{ical_utc(seminar.created_at)}",
        f"LAST-MODIFIED:{ical_utc(seminar.updated_at)}",
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "END:VEVENT",
    ]
    return lines


def icalendar(request, seminars, *, name: str) -> str:
    """A VCALENDAR of ``seminars``: CRLF line ends, every line folded."""
    host = calendar_host(request)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//MIC Japan//Regional Vitality Portal//" + ("EN" if _english() else "JA"),
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{ical_text(name)}",
    ]
    for seminar in seminars:
        lines += vevent(request, seminar, host)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)


def ical_response(text: str, filename: str, *, attachment: bool) -> HttpResponse:
    response = HttpResponse(text.encode("utf-8"), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'{"attachment" if attachment else "inline"}; filename="{filename}"'
    return response


@require_safe
def seminar_ics(request, slug):
    """One published seminar as an iCalendar file (never a draft, even for an editor)."""
    seminar = get_object_or_404(with_programme(published()), slug=slug)
    text = icalendar(request, [seminar], name=seminar.title)
    return ical_response(text, f"{seminar.slug}.ics", attachment=True)


@require_safe
def calendar(request):
    """Every upcoming seminar as one iCalendar feed to subscribe to."""
    text = icalendar(request, with_programme(upcoming()), name=_("地域力創造セミナー"))
    return ical_response(text, "seminars.ics", attachment=False)


# --- Atom ---------------------------------------------------------------------------------------


class SeminarFeed(Feed):
    """Published seminars, the latest announced first, each with its dates and place."""

    feed_type = Atom1Feed

    def __call__(self, request, *args, **kwargs):
        return require_safe(super().__call__)(request, *args, **kwargs)

    def title(self):
        return _("地域力創造セミナー") + " | " + _("地域力創造ポータル")

    def link(self):
        return reverse("expertnet:seminars")

    def subtitle(self):
        return _("地域づくりの専門家が講演や分科会、現地視察を行う、総務省の地域力創造セミナーの開催案内です。")

    def items(self):
        return published().order_by("-published_at", "-id")[:FEED_SIZE]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        """HTML (Atom type="html"): every text escaped here."""
        parts = []
        if item.is_sample:
            parts.append(
                format_html(
                    "<p><strong>{}</strong> {}</p>",
                    _("サンプルデータ"),
                    _("この内容は動作確認のために作った架空のデータです。実在の事業・団体・人物とは関係ありません。"),
                )
            )
        facts = [(_("日時"), event_dates(item.starts_at, item.ends_at)), (_("開催地"), place_name(item))]
        facts.append((_("会場"), item.venue))
        parts.append(format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", facts)))
        parts.append(format_html("<p>{}</p>", item.summary))
        return "".join(str(p) for p in parts)

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_categories(self, item):
        return [item.theme.name] if item.theme else []
