from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("ポータル")

    def ready(self):
        from portal import search_kinds
        from portal.search.rebuild import build_if_empty

        search_kinds.register()
        post_migrate.connect(build_if_empty, sender=self, dispatch_uid="portal.search.build_if_empty")
