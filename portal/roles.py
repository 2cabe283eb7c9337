"""Groups of admin users and their permissions, created by migration."""

from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes

# Three roles (docs/decisions/0010-editorial-workflow.md):
# - editors create and edit; they cannot publish, schedule, withdraw or archive;
# - publishers also publish, schedule, withdraw, archive and delete content;
# - administrators also manage the admin's users and groups and read the audit log.
EDITORS = "編集者"
PUBLISHERS = "公開担当者"
ADMINISTRATORS = "管理者"

# The content types with a publishing state (portal.publishing.Publishable).
PUBLISHABLE = {
    "portal": ("page", "newsitem"),
    "initiatives": ("initiative",),
    "casestudies": ("casestudy",),
    "expertnet": ("expert", "seminar"),
}

# app label -> model -> permissions the editors group was created with (portal/migrations/0003);
# later apps add theirs in their own migrations with grant() (expertnet/migrations/0003).
EDITOR_PERMISSIONS = {
    "initiatives": {
        "initiative": ("add", "change", "view"),
        "initiativelink": ("add", "change", "delete", "view"),
        "initiativedocument": ("add", "change", "delete", "view"),
        "meeting": ("add", "change", "delete", "view"),
    },
    "portal": {
        "page": ("change", "view"),
        "newsitem": ("add", "change", "delete", "view"),
        "prefecture": ("view",),
        "municipality": ("view",),
    },
}


def ensure_permissions(apps) -> None:
    """Permissions exist only after post_migrate; a data migration must create them itself."""
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_contenttypes(app_config, verbosity=0, apps=apps)
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None


def sync_group(apps, name: str, spec: dict) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ensure_permissions(apps)
    group, _ = Group.objects.get_or_create(name=name)
    wanted = [
        (app, f"{action}_{model}")
        for app, models in spec.items()
        for model, actions in models.items()
        for action in actions
    ]
    perms = [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in wanted]
    group.permissions.set(perms)


def create_editors(apps, schema_editor=None) -> None:
    sync_group(apps, EDITORS, EDITOR_PERMISSIONS)


def grant(apps, name: str, spec: dict) -> None:
    """Add the permissions of ``spec`` to the group ``name`` (a later migration's additions; the
    spec lives in the migration, so that it stays what it was when the migration was written)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ensure_permissions(apps)
    group, _ = Group.objects.get_or_create(name=name)
    group.permissions.add(
        *[
            Permission.objects.get(content_type__app_label=app, codename=f"{action}_{model}")
            for app, models in spec.items()
            for model, actions in models.items()
            for action in actions
        ]
    )


def copy_group(apps, source: str, target: str) -> None:
    """Give the group ``target`` every permission ``source`` has now."""
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=target)
    group.permissions.add(*Group.objects.get(name=source).permissions.all())


def grant_everything(apps, name: str) -> None:
    """Give the group ``name`` every permission that exists when the migration runs."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ensure_permissions(apps)
    group, _ = Group.objects.get_or_create(name=name)
    group.permissions.set(Permission.objects.all())
