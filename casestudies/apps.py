from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasestudiesConfig(AppConfig):
    name = "casestudies"
    verbose_name = _("地域力創造優良事例集")

    def ready(self):
        from casestudies import facets, search

        search.register()
        facets.connect()
