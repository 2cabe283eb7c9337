"""Site pages and the first news items, from fixtures/content/pages.json and news.json."""

from django.db import migrations

from portal.content import load_news, load_pages


def load(apps, schema_editor):
    load_pages(apps)
    load_news(apps)


class Migration(migrations.Migration):
    dependencies = [("portal", "0003_editors_group"), ("initiatives", "0002_programs")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
