from django.core.management.base import BaseCommand

from portal.search import registry
from portal.search.rebuild import progress_bar, rebuild


class Command(BaseCommand):
    help = "Rebuild the search index of every kind (or of --kind), with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--kind", action="append", choices=[k.key for k in registry.kinds()])

    def handle(self, *args, kind=None, **options):
        show = progress_bar(self.stderr._out) if options["verbosity"] > 0 else None
        written = rebuild(kinds=kind, progress=show)
        if options["verbosity"] > 0:
            self.stdout.write(self.style.SUCCESS(f"{written:,} entries indexed."))
