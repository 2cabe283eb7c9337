"""The token index beside portal_searchentry: FTS5 tables on SQLite, GIN indexes on PostgreSQL."""

from django.db import migrations

LANGUAGES = ("ja", "en")


def create(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(
                "CREATE INDEX search_entry_tokens ON portal_searchentry USING gin ((string_to_array(tokens, ' ')))"
            )
            cursor.execute(
                "CREATE INDEX search_entry_title_tokens ON portal_searchentry "
                "USING gin ((string_to_array(title_tokens, ' ')))"
            )
        elif schema_editor.connection.vendor == "sqlite":
            for language in LANGUAGES:
                cursor.execute(
                    f"CREATE VIRTUAL TABLE portal_search_fts_{language} USING fts5("
                    "title, body, content='', tokenize='unicode61 remove_diacritics 0', detail=full)"
                )
        else:
            raise RuntimeError("the portal's search runs on SQLite or PostgreSQL")


def drop(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS search_entry_tokens")
            cursor.execute("DROP INDEX IF EXISTS search_entry_title_tokens")
        else:
            for language in LANGUAGES:
                cursor.execute(f"DROP TABLE IF EXISTS portal_search_fts_{language}")


class Migration(migrations.Migration):
    dependencies = [("portal", "0005_search_entry")]

    operations = [migrations.RunPython(create, drop)]
