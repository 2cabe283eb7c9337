from django.core.management.base import BaseCommand, CommandError

from portal.sample_data import generate_cases, generate_experts, generate_news
from portal.search.rebuild import progress_bar


class Command(BaseCommand):
    help = (
        "Add invented sample data (marked 「サンプルデータ」 wherever it shows) until there are as many "
        "items as asked, e.g. --news 100000. Existing sample items are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--news", type=int, default=0, help="sample news items to have in all")
        parser.add_argument("--cases", type=int, default=0, help="generated sample case studies to have in all")
        parser.add_argument("--experts", type=int, default=0, help="generated sample experts to have in all")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, news, cases, experts, seed, **options):
        if news < 0 or cases < 0 or experts < 0:
            raise CommandError("--news, --cases and --experts must be 0 or more")
        show = progress_bar(self.stderr._out) if options["verbosity"] > 0 else None
        if news:
            self.stdout.write(f"{generate_news(news, seed=seed, progress=show):,} sample news items added.")
        if cases:
            self.stdout.write(f"{generate_cases(cases, seed=seed, progress=show):,} sample case studies added.")
        if experts:
            self.stdout.write(f"{generate_experts(experts, seed=seed, progress=show):,} sample experts added.")
