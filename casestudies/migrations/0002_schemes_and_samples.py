"""The schemes (利用した制度) and the sample case studies (invented, marked as sample wherever they
show) from fixtures/content/schemes.json and sample_casestudies.json."""

from django.db import migrations

from portal.content import load_sample_cases, load_schemes


def load(apps, schema_editor):
    load_schemes(apps)
    load_sample_cases(apps)


class Migration(migrations.Migration):
    dependencies = [("casestudies", "0001_initial"), ("portal", "0011_theme_content")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
