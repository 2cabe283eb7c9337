"""The 13 themes of 地域力創造アドバイザー, shared by case studies and experts."""

from django.db import migrations

from portal.content import load_themes


class Migration(migrations.Migration):
    dependencies = [("portal", "0010_themes")]

    operations = [migrations.RunPython(load_themes, migrations.RunPython.noop)]
