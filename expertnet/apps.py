from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExpertnetConfig(AppConfig):
    name = "expertnet"
    verbose_name = _("地域人材ネット")

    def ready(self):
        from expertnet import search, signals

        search.register()
        signals.connect()
