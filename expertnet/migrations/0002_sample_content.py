"""The sample experts and seminars (invented, marked as sample wherever they show) from
fixtures/content/sample_experts.json and sample_seminars.json."""

from django.db import migrations

from expertnet.content import load_sample_experts, load_sample_seminars


def load(apps, schema_editor):
    load_sample_experts(apps)
    load_sample_seminars(apps)


class Migration(migrations.Migration):
    dependencies = [("expertnet", "0001_initial"), ("casestudies", "0002_schemes_and_samples")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
