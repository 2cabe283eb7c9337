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
        from portal import form_guards

        form_guards.install()
        from portal import pagecache

        pagecache.connect()
        post_migrate.connect(build_if_empty, sender=self, dispatch_uid="portal.search.build_if_empty")

        # Admin security: the audit log's login receivers and the session's login time.
        from django.contrib.auth.signals import user_logged_in

        from portal import audit, security

        audit.connect()
        user_logged_in.connect(security.remember_login_time, dispatch_uid="portal.security.login_time")
