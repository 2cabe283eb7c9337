"""Loading the portal's own content (fixtures/) into the database, from data migrations.

Every loader creates what is missing and never overwrites a row that exists: migrations run
once, and what editors changed in admin survives every later `make run`. The loaders take the
historical ``apps`` registry, so they keep working as the models grow; keys a historical model
does not have yet are skipped.
"""

import csv
import datetime as dt
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LANGS = ("ja", "en")


def region_for(number: int) -> str:
    """The region key of prefecture number 1-47 (one rule: portal.models.Region.for_prefecture)."""
    from portal.models import Region

    return Region.for_prefecture(number).value


def read_csv(name: str) -> list[dict]:
    with open(FIXTURES / "places" / name, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def municipality_kind(pref_number: int, name: str) -> str:
    if " " in name:
        return "ward"
    if pref_number == 13 and name.endswith("区"):
        return "special_ward"
    return {"市": "city", "町": "town", "村": "village"}[name[-1]]


def load_places(apps, schema_editor=None) -> None:
    Prefecture = apps.get_model("portal", "Prefecture")
    Municipality = apps.get_model("portal", "Municipality")
    existing_prefs = set(Prefecture.objects.values_list("code", flat=True))
    prefs = []
    for row in read_csv("prefjp-utf8.csv"):
        number = int(row["pid"])
        code = f"{number:02d}"
        if code in existing_prefs:
            continue
        prefs.append(
            Prefecture(
                code=code,
                lgcode=row["lgcode"].zfill(6),
                name=row["pref"],
                name_kana=row["prefkana"],
                short_name=row["prefshort"],
                name_en=row["pref_en"],
                region=region_for(number),
                url=row["url"],
            )
        )
    Prefecture.objects.bulk_create(prefs)

    existing = set(Municipality.objects.values_list("code", flat=True))
    rows = read_csv("localgovjp-utf8.csv")
    cities = {}
    towns, wards = [], []
    for row in rows:
        number = int(row["pid"])
        kind = municipality_kind(number, row["city"])
        obj = Municipality(
            code=row["lgcode"],
            prefecture_id=f"{number:02d}",
            name=row["city"].split(" ")[-1],
            name_kana=row["citykana"].split(" ")[-1],
            kind=kind,
            url=row["url"],
        )
        if kind == "ward":
            obj.parent_name = (number, row["city"].split(" ")[0])
            wards.append(obj)
        else:
            cities[(number, row["city"])] = obj.code
            towns.append(obj)
    for ward in wards:
        ward.parent_id = cities[ward.parent_name]
    Municipality.objects.bulk_create([m for m in towns if m.code not in existing], batch_size=500)
    Municipality.objects.bulk_create([m for m in wards if m.code not in existing], batch_size=500)


def read_json(name: str) -> list[dict]:
    return json.loads((FIXTURES / "content" / name).read_text(encoding="utf-8"))


def translated(model, data: dict, names: tuple[str, ...]) -> dict:
    """{"title": {"ja": …, "en": …}} -> {"title_ja": …, "title_en": …} for the fields the model has."""
    fields = {f.name for f in model._meta.get_fields()}
    out = {}
    for name in names:
        value = data.get(name)
        if value is None:
            continue
        for lang in LANGS:
            if f"{name}_{lang}" in fields:
                out[f"{name}_{lang}"] = value.get(lang, "")
        if name in fields:
            out[name] = value.get("ja", "")
    return out


def _published_at(data: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(data.get("published_at", "2026-11-29T09:00:00+09:00"))


def load_initiatives(apps, schema_editor=None) -> None:
    Initiative = apps.get_model("initiatives", "Initiative")
    InitiativeLink = apps.get_model("initiatives", "InitiativeLink")
    items = read_json("initiatives.json")
    created = {}
    for data in items:
        if Initiative.objects.filter(slug=data["slug"]).exists():
            continue
        fields = translated(Initiative, data, ("title", "short_name", "summary", "body", "office", "contact"))
        initiative = Initiative.objects.create(
            slug=data["slug"],
            order=data["order"],
            status=data["status"],
            state="published",
            published_at=_published_at(data),
            **fields,
        )
        created[data["slug"]] = initiative
        for position, link in enumerate(data.get("links", []), start=1):
            InitiativeLink.objects.create(
                initiative=initiative,
                url=link["url"],
                order=position * 10,
                **translated(InitiativeLink, link, ("label",)),
            )
    by_slug = {i.slug: i for i in Initiative.objects.all()}
    for data in items:
        if data["slug"] in created:
            created[data["slug"]].related.set([by_slug[s] for s in data.get("related", []) if s in by_slug])


def load_pages(apps, schema_editor=None) -> None:
    Page = apps.get_model("portal", "Page")
    for data in read_json("pages.json"):
        if Page.objects.filter(slug=data["slug"]).exists():
            continue
        Page.objects.create(
            slug=data["slug"],
            order=data["order"],
            state="published",
            published_at=_published_at(data),
            **translated(Page, data, ("title", "lead", "body")),
        )


def load_news(apps, schema_editor=None) -> None:
    NewsItem = apps.get_model("portal", "NewsItem")
    Initiative = apps.get_model("initiatives", "Initiative")
    for data in read_json("news.json"):
        if NewsItem.objects.filter(slug=data["slug"]).exists():
            continue
        initiative = Initiative.objects.filter(slug=data.get("initiative") or "").first()
        NewsItem.objects.create(
            slug=data["slug"],
            state="published",
            published_at=_published_at(data),
            initiative=initiative,
            **translated(NewsItem, data, ("title", "summary", "body")),
        )


def load_themes(apps, schema_editor=None) -> None:
    Theme = apps.get_model("portal", "Theme")
    for data in read_json("themes.json"):
        if not Theme.objects.filter(key=data["key"]).exists():
            Theme.objects.create(key=data["key"], order=data["order"], **translated(Theme, data, ("name",)))


def load_schemes(apps, schema_editor=None) -> None:
    Scheme = apps.get_model("casestudies", "Scheme")
    for data in read_json("schemes.json"):
        if not Scheme.objects.filter(key=data["key"]).exists():
            Scheme.objects.create(key=data["key"], order=data["order"], **translated(Scheme, data, ("name",)))


CASE_TEXT_FIELDS = (
    "title",
    "subtitle",
    "organisation",
    "summary",
    "purpose",
    "activities",
    "results",
    "lessons",
    "sustainability",
)


def load_sample_cases(apps, schema_editor=None) -> None:
    """The sample case studies (invented, is_sample=True) that make every filter meaningful."""
    from casestudies.models import PopulationBand  # the enum only; rows go through historical models

    CaseStudy = apps.get_model("casestudies", "CaseStudy")
    CaseFigure = apps.get_model("casestudies", "CaseFigure")
    Municipality = apps.get_model("portal", "Municipality")
    Theme = apps.get_model("portal", "Theme")
    Scheme = apps.get_model("casestudies", "Scheme")
    Prefecture = apps.get_model("portal", "Prefecture")
    themes = {t.key: t for t in Theme.objects.all()}
    schemes = {s.key: s for s in Scheme.objects.all()}
    for data in read_json("sample_casestudies.json"):
        if CaseStudy.objects.filter(slug=data["slug"]).exists():
            continue
        municipalities = list(Municipality.objects.filter(code__in=data["municipalities"]))
        first = next(m for m in municipalities if m.code == data["municipalities"][0])
        prefecture = Prefecture.objects.get(code=first.prefecture_id)
        population = data.get("population")
        case = CaseStudy.objects.create(
            slug=data["slug"],
            state="published",
            published_at=_published_at(data),
            is_sample=True,
            prefecture=prefecture,
            region=prefecture.region,
            fiscal_year_start=data["fiscal_year_start"],
            fiscal_year_end=data.get("fiscal_year_end"),
            organisation_kana=data.get("organisation_kana", ""),
            population=population,
            population_band=PopulationBand.for_population(population),
            population_date=data.get("population_date"),
            edition=data["edition"],
            award={"総務大臣賞": "minister", "優秀賞": "excellence"}.get(data.get("award", ""), ""),
            keywords_ja="、".join(data.get("keywords", {}).get("ja", [])),
            keywords_en=", ".join(data.get("keywords", {}).get("en", [])),
            keywords="、".join(data.get("keywords", {}).get("ja", [])),
            **translated(CaseStudy, data, CASE_TEXT_FIELDS),
        )
        case.municipalities.set(municipalities)
        case.themes.set([themes[k] for k in data.get("themes", []) if k in themes])
        case.schemes.set([schemes[k] for k in data.get("schemes", []) if k in schemes])
        for position, figure in enumerate(data.get("figures", []), start=1):
            CaseFigure.objects.create(
                case=case,
                value=figure["value"],
                order=position * 10,
                **translated(CaseFigure, figure, ("label", "unit")),
            )
