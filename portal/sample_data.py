"""Invented sample content for demonstrations and benchmarks: clearly marked as sample data.

Every object made here has ``is_sample=True``; the pages show 「サンプルデータ」 wherever it
appears, and titles say so too. Text is built from real place names (the places fixture) and
the themes of regional policy, so that search and filters behave as on real content.
"""

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

THEMES = [
    "地域資源を活用した地域経済循環",
    "まちなか再生",
    "生活機能の維持",
    "環境保全・SDGs",
    "防災減災・危機管理",
    "観光振興・交流",
    "関係人口の創出・拡大",
    "移住・定住促進",
    "少子化対策",
    "子ども・子育て支援",
    "地域づくり人材の育成・教育",
    "自治体経営イノベーション",
    "シティプロモーション・地域PR",
]
SUBJECTS = [
    "空き家バンク",
    "地域おこし協力隊",
    "農産物の直売所",
    "棚田の保全",
    "廃校の活用",
    "移住体験住宅",
    "道の駅",
    "地域公共交通",
    "子育て支援センター",
    "ふるさと納税",
    "商店街の空き店舗",
    "温泉資源",
    "森林資源",
    "漁港の朝市",
    "伝統工芸",
    "古民家",
    "サテライトオフィス",
    "大学との連携",
    "ICTを活用した見守り",
    "自主防災組織",
    "ジビエの加工",
    "農家民泊",
    "ワーケーション",
    "コミュニティバス",
    "買い物支援",
    "地域食堂",
    "郷土芸能の継承",
    "木質バイオマス",
    "小水力発電",
    "酒蔵ツーリズム",
    "サイクルツーリズム",
    "地域商社",
    "特産品の開発",
    "高校の魅力化",
    "移動販売",
    "集落支援員",
    "関係人口の受入れ",
    "シェアオフィス",
    "地域医療の連携",
    "海岸清掃",
]
ACTIONS = [
    "住民と行政が協働して取り組んだ",
    "地元の高校生が企画から参加した",
    "NPO法人と連携して進めた",
    "民間事業者の知見を取り入れた",
    "外部専門家の助言を受けて見直した",
    "近隣の市町村と広域で連携した",
]
RESULTS = [
    "移住者が{n}人増えた",
    "観光客が前年より{n}%増えた",
    "新たに{n}件の事業が生まれた",
    "{n}戸の空き家が活用された",
    "農産物の売上が{n}%伸びた",
    "参加した住民が延べ{n}人となった",
    "地域内の雇用が{n}人分生まれた",
]
SENTENCES = [
    "{place}では、{subject}を核とした取組を{action}。",
    "人口減少と高齢化が進むなか、{theme}を目指して事業を始めた。",
    "取組の結果、{result}。",
    "当初は担い手の確保が課題だったが、運営に若い世代が加わったことで活動が続いている。",
    "事業費には地方財政措置を活用し、{year}年度からは自主財源での運営に移行した。",
    "{place}の担当者は「地域の外とのつながりが生まれた」と話す。",
    "今後は{theme}の観点から、周辺地域への展開を検討している。",
    "視察の受入れも行っており、これまでに{n}団体が訪れた。",
    "毎月の会議では、住民の意見を聞きながら計画を少しずつ見直してきた。",
    "成果を数字で確かめるため、年に一度の調査を続けている。",
    "近年は{other}にも取り組み始めた。",
    "関係者の間で情報を共有する仕組みを整えたことが、継続につながった。",
]
CASE_THEME_KEYS = (
    "economy",
    "downtown",
    "living",
    "environment",
    "disaster",
    "tourism",
    "related_population",
    "migration",
    "birthrate",
    "childcare",
    "human_resources",
    "management",
    "promotion",
)
EN_SUBJECTS = [
    "vacant house bank",
    "regional revitalization volunteers",
    "farm stand",
    "terraced rice fields",
    "reused school building",
    "roadside station",
    "community bus",
    "satellite office",
]


def japanese_text(rng: random.Random, place: str, sentences: int, subject: str | None = None) -> str:
    subject = subject or rng.choice(SUBJECTS)
    parts = []
    for _ in range(sentences):
        template = rng.choice(SENTENCES)
        parts.append(
            template.format(
                place=place,
                subject=subject,
                other=rng.choice(SUBJECTS),
                action=rng.choice(ACTIONS),
                theme=rng.choice(THEMES),
                result=rng.choice(RESULTS).format(n=rng.randint(3, 120)),
                year=rng.randint(2015, 2025),
                n=rng.randint(5, 200),
            )
        )
    return "".join(parts)


def sample_news(count: int, *, seed: int = 1, start: int = 0, body_sentences: int = 36):
    """``count`` unsaved sample NewsItem objects (slugs sample-news-<start>…)."""
    from portal.models import Municipality, NewsItem

    rng = random.Random(seed * 1_000_003 + start)  # noqa: S311 - invented text, repeatable by seed; not security
    places = [
        (pref, (parent or "") + name)
        for pref, parent, name in Municipality.objects.values_list("prefecture__name", "parent__name", "name")
    ]
    now = timezone.now()
    items = []
    for i in range(start, start + count):
        pref, city = rng.choice(places)
        place = f"{pref}{city}"
        subject = rng.choice(SUBJECTS)
        when = now - dt.timedelta(minutes=rng.randint(60, 60 * 24 * 365 * 8))
        items.append(
            NewsItem(
                slug=f"sample-news-{i}",
                title_ja=f"【サンプル】{place}の{subject}の取組",
                title_en=f"[Sample] The {rng.choice(EN_SUBJECTS)} of {city}",
                summary_ja=japanese_text(rng, place, 1, subject),
                body_ja=japanese_text(rng, place, body_sentences, subject),
                body_en=f"Sample data. An invented example of a {rng.choice(EN_SUBJECTS)} project in {city}, {pref}.",
                state="published",
                published_at=when,
                is_sample=True,
            )
        )
    return items


def generate_news(count: int, *, seed: int = 1, batch: int = 1000, progress=None) -> int:
    """Add sample news until there are ``count`` of them; index them in batches."""
    from portal.models import NewsItem
    from portal.search import engine, registry

    kind = registry.kind_for_key("news")
    existing = NewsItem.objects.filter(is_sample=True).count()
    made = 0
    while existing + made < count:
        n = min(batch, count - existing - made)
        objs = NewsItem.objects.bulk_create(sample_news(n, seed=seed, start=existing + made))
        engine.index_objects(kind, objs, replace=False)
        made += n
        if progress:
            progress(existing + made, count)
    return made


def sample_cases(count: int, *, seed: int = 1, start: int = 0):
    """``count`` unsaved sample CaseStudy objects and, for each, its municipality and theme keys."""
    from casestudies.models import Award, CaseStudy, PopulationBand
    from portal.models import Municipality

    rng = random.Random(seed * 7_000_003 + start)  # noqa: S311 - invented text, repeatable by seed; not security
    places = list(
        Municipality.objects.exclude(kind="ward").values_list("code", "prefecture_id", "prefecture__name", "name")
    )
    regions = dict(Municipality.objects.values_list("prefecture_id", "prefecture__region").distinct())
    theme_keys = list(CASE_THEME_KEYS)
    now = timezone.now()
    out = []
    for i in range(start, start + count):
        code, pref_code, pref_name, city = rng.choice(places)
        place = f"{pref_name}{city}"
        subject = rng.choice(SUBJECTS)
        first = rng.randint(2008, 2025)
        population = rng.choice(
            [
                rng.randint(800, 4999),
                rng.randint(5000, 9999),
                rng.randint(10000, 49999),
                rng.randint(50000, 199999),
                rng.randint(200000, 900000),
            ]
        )
        case = CaseStudy(
            slug=f"sample-bench-case-{i}",
            title_ja=f"【サンプル】{city}の{subject}",
            title_en=f"[Sample] The {rng.choice(EN_SUBJECTS)} of {city}",
            subtitle_ja=japanese_text(rng, place, 1, subject),
            organisation_ja=f"{city} 企画課",
            organisation_kana="さんぷる",
            summary_ja=japanese_text(rng, place, 3, subject),
            summary_en=f"Sample data. An invented case study of a {rng.choice(EN_SUBJECTS)} project in {city}.",
            purpose_ja=japanese_text(rng, place, 2, subject),
            activities_ja=japanese_text(rng, place, 8, subject),
            results_ja=japanese_text(rng, place, 2, subject),
            lessons_ja=japanese_text(rng, place, 2, subject),
            sustainability_ja=japanese_text(rng, place, 2, subject),
            fiscal_year_start=first,
            fiscal_year_end=rng.choice([None, min(2026, first + rng.randint(0, 6))]),
            prefecture_id=pref_code,
            region=regions[pref_code],
            population=population,
            population_band=PopulationBand.for_population(population),
            edition=rng.randint(max(first, 2012), 2026),
            award=rng.choice([Award.NONE] * 9 + [Award.MINISTER, Award.EXCELLENCE]),
            state="published",
            published_at=now - dt.timedelta(minutes=rng.randint(60, 60 * 24 * 365 * 8)),
            is_sample=True,
        )
        out.append((case, [code], rng.sample(theme_keys, rng.randint(1, 3))))
    return out


def generate_cases(count: int, *, seed: int = 1, batch: int = 1000, progress=None) -> int:
    """Add sample case studies until there are ``count`` of them; index them in batches."""
    from casestudies.models import CaseStudy
    from portal.models import Theme, theme_bit
    from portal.search import engine, registry

    kind = registry.kind_for_key("casestudy")
    themes = dict(Theme.objects.values_list("key", "pk"))
    existing = CaseStudy.objects.filter(is_sample=True, slug__startswith="sample-bench-case-").count()
    made = 0
    while existing + made < count:
        n = min(batch, count - existing - made)
        rows = sample_cases(n, seed=seed, start=existing + made)
        for case, _, keys in rows:  # bulk_create sends no m2m signal: set the theme bits here
            case.theme_mask = sum(theme_bit(themes[key]) for key in keys)
        with transaction.atomic():
            cases = CaseStudy.objects.bulk_create([case for case, _, _ in rows])
            CaseStudy.municipalities.through.objects.bulk_create(
                [
                    CaseStudy.municipalities.through(casestudy_id=c.pk, municipality_id=m)
                    for c, (_, ms, _) in zip(cases, rows, strict=True)
                    for m in ms
                ]
            )
            CaseStudy.themes.through.objects.bulk_create(
                [
                    CaseStudy.themes.through(casestudy_id=c.pk, theme_id=themes[t])
                    for c, (_, _, ts) in zip(cases, rows, strict=True)
                    for t in ts
                ]
            )
            engine.index_objects(
                kind,
                CaseStudy.objects.filter(pk__in=[c.pk for c in cases]).prefetch_related("municipalities__parent"),
                replace=False,
            )
        made += n
        if progress:
            progress(existing + made, count)
    if made:
        from casestudies import facets

        facets.rebuild()  # bulk_create sends no signals: count the new cases into the facet cells
    return made


SAMPLE_FAMILY_NAMES = [  # words for "example", "trial", "dummy": plainly not real people
    ("演習", "えんしゅう", "Enshu"),
    ("架空", "かくう", "Kakuu"),
    ("試験", "しけん", "Shiken"),
    ("代理", "だいり", "Dairi"),
    ("名無", "ななし", "Nanashi"),
    ("雛形", "ひながた", "Hinagata"),
    ("見本", "みほん", "Mihon"),
    ("予行", "よこう", "Yoko"),
    ("練習", "れんしゅう", "Renshu"),
    ("割付", "わりつけ", "Waritsuke"),
]
SAMPLE_GIVEN_NAMES = [
    ("一郎", "いちろう", "Ichiro"),
    ("花子", "はなこ", "Hanako"),
    ("健太", "けんた", "Kenta"),
    ("さくら", "さくら", "Sakura"),
    ("大輔", "だいすけ", "Daisuke"),
    ("由美", "ゆみ", "Yumi"),
    ("翔", "しょう", "Sho"),
    ("恵", "めぐみ", "Megumi"),
]
EXPERT_FIELDS = [
    "地域ブランドづくりと特産品の開発",
    "空き家を生かした移住の受入れ",
    "観光地域づくりと体験型観光",
    "住民参加のまちづくりと合意形成",
    "公共交通の再編と移動支援",
    "自主防災組織の育成と避難計画",
    "関係人口づくりとふるさと納税",
    "子育て世代の定住支援",
]


def sample_experts(count: int, *, seed: int = 1, start: int = 0):
    """``count`` unsaved sample Expert objects and, for each, its theme keys and dispatch places."""
    from expertnet.models import Expert, ExpertKind, kana_row
    from portal.models import Municipality

    rng = random.Random(seed * 9_000_011 + start)  # noqa: S311 - invented text, repeatable by seed; not security
    places = list(
        Municipality.objects.exclude(kind="ward").values_list("code", "prefecture_id", "prefecture__name", "name")
    )
    regions = dict(Municipality.objects.values_list("prefecture_id", "prefecture__region").distinct())
    theme_keys = list(CASE_THEME_KEYS)
    now = timezone.now()
    out = []
    for i in range(start, start + count):
        family, family_kana, family_en = rng.choice(SAMPLE_FAMILY_NAMES)
        given, given_kana, given_en = rng.choice(SAMPLE_GIVEN_NAMES)
        code, pref_code, pref_name, city = rng.choice(places)
        municipal = rng.random() < 0.35
        field = rng.choice(EXPERT_FIELDS)
        kana = f"{family_kana} {given_kana}"
        registered = rng.randint(2008, 2025)
        expert = Expert(
            slug=f"sample-bench-expert-{i}",
            name_ja=f"{family} {given}(サンプル{i})",
            name_en=f"{given_en} {family_en} (sample {i})",
            name_kana=kana,
            kana_row=kana_row(kana),
            kind=ExpertKind.MUNICIPAL if municipal else ExpertKind.PRIVATE,
            affiliation_ja=f"{city} 企画課" if municipal else f"見本地域研究所{rng.randint(1, 300)}",
            affiliation_en=f"{city}, Planning Division" if municipal else "Mihon Regional Institute (sample)",
            municipality_id=code if municipal else None,
            base_prefecture_id=pref_code,
            base_region=regions[pref_code],
            registered_field_ja=field,
            profile_ja=japanese_text(rng, f"{pref_name}{city}", 4),
            profile_en="Sample data: an invented expert profile.",
            registered_year=registered,
            last_active_year=rng.randint(registered, 2026),
            state="published",
            published_at=now - dt.timedelta(minutes=rng.randint(60, 60 * 24 * 365 * 5)),
            is_sample=True,
        )
        dispatches = [rng.choice(places)[0] for _ in range(rng.randint(0, 3))]
        out.append((expert, rng.sample(theme_keys, rng.randint(1, 3)), dispatches))
    return out


def generate_experts(count: int, *, seed: int = 1, batch: int = 1000, progress=None) -> int:
    """Add sample experts (with dispatches) until there are ``count`` of them; index them in batches."""
    from expertnet.models import Dispatch, Expert
    from portal.models import Municipality, Theme, theme_bit
    from portal.search import engine, registry

    kind = registry.kind_for_key("expert")
    themes = dict(Theme.objects.values_list("key", "pk"))
    prefectures = dict(Municipality.objects.values_list("code", "prefecture_id"))
    existing = Expert.objects.filter(is_sample=True, slug__startswith="sample-bench-expert-").count()
    made = 0
    while existing + made < count:
        n = min(batch, count - existing - made)
        rows = sample_experts(n, seed=seed, start=existing + made)
        for expert, keys, _ in rows:  # bulk_create sends no m2m signal: set the theme bits here
            expert.theme_mask = sum(theme_bit(themes[key]) for key in keys)
        with transaction.atomic():
            experts = Expert.objects.bulk_create([expert for expert, _, _ in rows])
            Expert.themes.through.objects.bulk_create(
                [
                    Expert.themes.through(expert_id=e.pk, theme_id=themes[k])
                    for e, (_, keys, _) in zip(experts, rows, strict=True)
                    for k in keys
                ]
            )
            Dispatch.objects.bulk_create(
                [
                    Dispatch(
                        expert_id=e.pk,
                        municipality_id=code,
                        prefecture_id=prefectures[code],
                        year_start=e.registered_year,
                        year_end=e.last_active_year,
                        days=4,
                        visits=2,
                        summary_ja="【サンプル】地域の課題の整理と、取組の計画づくりに助言した。",
                    )
                    for e, (_, _, codes) in zip(experts, rows, strict=True)
                    for code in codes
                ]
            )
            engine.index_objects(kind, Expert.objects.filter(pk__in=[e.pk for e in experts]), replace=False)
        made += n
        if progress:
            progress(existing + made, count)
    return made
