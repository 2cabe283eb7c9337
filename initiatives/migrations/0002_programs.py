"""The ten programs of 「これまでの取組」, from fixtures/content/initiatives.json."""

from django.db import migrations

from portal.content import load_initiatives


class Migration(migrations.Migration):
    dependencies = [("initiatives", "0001_initial")]

    operations = [migrations.RunPython(load_initiatives, migrations.RunPython.noop)]
