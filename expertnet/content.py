"""Loaders of the expert registry's sample content (invented, marked as sample wherever it shows),
for data migrations: fixtures/content/sample_experts.json and sample_seminars.json. They create
what is missing and change nothing an editor has made."""

import datetime as dt

from portal.content import read_json, translated

FIRST_PUBLISHED = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))


def kana_row(reading: str) -> str:
    from expertnet.models import kana_row as row  # a pure function: safe from a migration

    return row(reading)


def load_sample_experts(apps, schema_editor=None) -> None:
    Expert = apps.get_model("expertnet", "Expert")
    Dispatch = apps.get_model("expertnet", "Dispatch")
    Municipality = apps.get_model("portal", "Municipality")
    Prefecture = apps.get_model("portal", "Prefecture")
    Theme = apps.get_model("portal", "Theme")
    CaseStudy = apps.get_model("casestudies", "CaseStudy")
    themes = {t.key: t for t in Theme.objects.all()}
    regions = dict(Prefecture.objects.values_list("code", "region"))
    for data in read_json("sample_experts.json"):
        if Expert.objects.filter(slug=data["slug"]).exists():
            continue
        expert = Expert.objects.create(
            slug=data["slug"],
            state="published" if data.get("is_public", True) else "draft",
            published_at=FIRST_PUBLISHED if data.get("is_public", True) else None,
            is_sample=True,
            name_kana=data["name_kana"],
            kana_row=kana_row(data["name_kana"]),
            kind=data["kind"],
            municipality_id=data.get("municipality"),
            base_prefecture_id=data["base_prefecture"],
            base_region=regions[data["base_prefecture"]],
            recommending_prefecture_id=data.get("recommending_prefecture"),
            registered_year=data["registered_year"],
            last_active_year=data.get("last_active_year"),
            contact_url=data.get("contact_url", ""),
            **translated(Expert, data, ("name", "affiliation", "job_title", "registered_field", "profile")),
        )
        expert.themes.set([themes[k] for k in data["themes"] if k in themes])
        expert.theme_mask = sum(1 << themes[k].pk for k in data["themes"] if k in themes)
        expert.save(update_fields=["theme_mask"])
        cases = set()
        for item in data.get("dispatches", []):
            municipality = Municipality.objects.get(code=item["municipality"])
            case = CaseStudy.objects.filter(slug=item["case"]).first() if item.get("case") else None
            Dispatch.objects.create(
                expert=expert,
                municipality=municipality,
                prefecture_id=municipality.prefecture_id,
                year_start=item["year_start"],
                year_end=item.get("year_end"),
                days=item.get("days"),
                visits=item.get("visits"),
                case=case,
                **translated(Dispatch, item, ("summary",)),
            )
            if case:
                cases.add(case)
        expert.case_studies.set(cases)


def load_sample_seminars(apps, schema_editor=None) -> None:
    Seminar = apps.get_model("expertnet", "Seminar")
    SeminarSession = apps.get_model("expertnet", "SeminarSession")
    Expert = apps.get_model("expertnet", "Expert")
    Theme = apps.get_model("portal", "Theme")
    themes = {t.key: t for t in Theme.objects.all()}
    for data in read_json("sample_seminars.json"):
        if Seminar.objects.filter(slug=data["slug"]).exists():
            continue
        seminar = Seminar.objects.create(
            slug=data["slug"],
            state="published",
            published_at=FIRST_PUBLISHED,
            is_sample=True,
            starts_at=dt.datetime.fromisoformat(data["starts_at"]),
            ends_at=dt.datetime.fromisoformat(data["ends_at"]),
            municipality_id=data["municipality"],
            theme=themes.get(data.get("theme")),
            capacity=data.get("capacity"),
            **translated(Seminar, data, ("title", "venue", "summary", "application")),
        )
        for item in data.get("programme", []):
            session = SeminarSession.objects.create(
                seminar=seminar,
                starts_at=dt.datetime.fromisoformat(item["starts_at"]),
                ends_at=dt.datetime.fromisoformat(item["ends_at"]) if item.get("ends_at") else None,
                kind=item["kind"],
                **translated(SeminarSession, item, ("title",)),
            )
            session.speakers.set(Expert.objects.filter(slug__in=item.get("speakers", [])))
