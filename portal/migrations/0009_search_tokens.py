"""PostgreSQL: the tokens move from portal_searchentry to the narrow table portal_searchtokens.

Counting matches visits every matching row's heap tuple: a few hundred pages of narrow rows
instead of tens of thousands in the wide entry table (docs/decisions/0006-search.md). On SQLite
the table stays empty: FTS5 holds the tokens there.
"""

import django.db.models.deletion
from django.db import migrations, models

import portal.models


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        # Indexes first: the deferred foreign-key checks of the copied rows would forbid them after.
        cursor.execute("CREATE INDEX portal_searchtokens_tokens ON portal_searchtokens USING gin (tokens)")
        cursor.execute("CREATE INDEX portal_searchtokens_title ON portal_searchtokens USING gin (title_tokens)")
        cursor.execute(
            "INSERT INTO portal_searchtokens (entry_id, language, kind, tokens, title_tokens) "
            "SELECT id, language, kind, string_to_array(tokens, ' '), string_to_array(title_tokens, ' ') "
            "FROM portal_searchentry WHERE tokens <> ''"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS portal_searchtokens_tokens")
            cursor.execute("DROP INDEX IF EXISTS portal_searchtokens_title")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0008_search_recent_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchTokens",
            fields=[
                (
                    "entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="portal.searchentry",
                    ),
                ),
                ("language", models.CharField(max_length=8)),
                ("kind", models.CharField(max_length=32)),
                ("tokens", portal.models.TokenArrayField()),
                ("title_tokens", portal.models.TokenArrayField()),
            ],
            options={
                "verbose_name": "検索語の索引",
                "verbose_name_plural": "検索語の索引",
            },
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(
            model_name="searchentry",
            name="title_tokens",
        ),
        migrations.RemoveField(
            model_name="searchentry",
            name="tokens",
        ),
    ]
