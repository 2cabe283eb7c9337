"""The site page on how to invite an expert of the registry (expertnet), from fixtures/content/pages.json;
the pages already there are left as editors keep them."""

from django.db import migrations

from portal.content import load_pages


class Migration(migrations.Migration):
    dependencies = [("portal", "0011_theme_content")]

    operations = [migrations.RunPython(load_pages, migrations.RunPython.noop)]
