from django.db import migrations

from portal.roles import create_editors


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_places"),
        ("initiatives", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors, migrations.RunPython.noop)]
