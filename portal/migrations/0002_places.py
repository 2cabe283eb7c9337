"""The 47 prefectures and 1,916 municipalities and wards, from fixtures/places/ (CC0 1.0)."""

from django.db import migrations

from portal.content import load_places


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]

    operations = [migrations.RunPython(load_places, migrations.RunPython.noop, elidable=False)]
