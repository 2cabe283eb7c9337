"""Editors (the group 編集者) keep case studies, experts, dispatches and seminars, and work the
requests to be introduced to experts; deleting an expert or a seminar stays with administrators."""

from django.db import migrations

from portal.roles import EDITORS, grant

EDITORS_ADD = {
    "casestudies": {
        "casestudy": ("add", "change", "view"),
        "casefigure": ("add", "change", "delete", "view"),
        "caselink": ("add", "change", "delete", "view"),
        "caseimage": ("add", "change", "delete", "view"),
        "caseattachment": ("add", "change", "delete", "view"),
        "scheme": ("view",),
    },
    "expertnet": {
        "expert": ("add", "change", "view"),
        "dispatch": ("add", "change", "delete", "view"),
        "seminar": ("add", "change", "view"),
        "seminarsession": ("add", "change", "delete", "view"),
        "seminardocument": ("add", "change", "delete", "view"),
        "consultationrequest": ("change", "view"),
        "requestevent": ("view",),
    },
    "portal": {"theme": ("view",)},
}


def add_permissions(apps, schema_editor):
    grant(apps, EDITORS, EDITORS_ADD)


class Migration(migrations.Migration):
    dependencies = [
        ("expertnet", "0002_sample_content"),
        ("casestudies", "0005_keyword_hit_index"),
        ("portal", "0012_invitation_page"),
    ]

    operations = [migrations.RunPython(add_permissions, migrations.RunPython.noop)]
