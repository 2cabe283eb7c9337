"""The three roles: editors (編集者, as before, and never the publish permission), publishers
(公開担当者: what editors may do, and publish and delete content) and administrators (管理者: every
permission, users and groups included). docs/decisions/0010-editorial-workflow.md."""

from django.db import migrations

from portal.roles import ADMINISTRATORS, EDITORS, PUBLISHABLE, PUBLISHERS, copy_group, grant, grant_everything

PUBLISHERS_ADD = {app: dict.fromkeys(models, ("publish", "delete")) for app, models in PUBLISHABLE.items()}


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    grant(apps, EDITORS, {})  # creates the permissions the models gained (publish_*)
    editors = Group.objects.get(name=EDITORS)
    editors.permissions.remove(*Permission.objects.filter(codename__startswith="publish_"))
    copy_group(apps, EDITORS, PUBLISHERS)
    grant(apps, PUBLISHERS, PUBLISHERS_ADD)
    grant_everything(apps, ADMINISTRATORS)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[PUBLISHERS, ADMINISTRATORS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0013_workflow_states"),
        ("initiatives", "0005_workflow_states"),
        ("casestudies", "0006_workflow_states"),
        ("expertnet", "0004_workflow_states"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
