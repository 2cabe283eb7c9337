"""PostgreSQL: the tokens move from portal_searchentry to a narrow table of their own.

Counting matches visits every matching row's heap tuple; in a table of 100-byte rows that is a
few hundred pages, in the wide entry table tens of thousands (docs/decisions/0006-search.md).
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE portal_searchtokens ("
            " entry_id bigint PRIMARY KEY REFERENCES portal_searchentry(id) ON DELETE CASCADE,"
            " language varchar(8) NOT NULL,"
            " kind varchar(32) NOT NULL,"
            " tokens text[] NOT NULL,"
            " title_tokens text[] NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO portal_searchtokens SELECT id, language, kind, "
            "string_to_array(tokens, ' '), string_to_array(title_tokens, ' ') FROM portal_searchentry"
        )
        cursor.execute("CREATE INDEX portal_searchtokens_tokens ON portal_searchtokens USING gin (tokens)")
        cursor.execute("CREATE INDEX portal_searchtokens_title ON portal_searchtokens USING gin (title_tokens)")
        cursor.execute("ANALYZE portal_searchtokens")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS portal_searchtokens")


class Migration(migrations.Migration):
    dependencies = [("portal", "0008_search_recent_index")]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="searchentry", name="tokens"),
        migrations.RemoveField(model_name="searchentry", name="title_tokens"),
    ]
