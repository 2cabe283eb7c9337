"""Count the public case studies into the facet cells again.

The cells follow every change made through Django (admin, import, the sample-data generator)
and every scheduled publish time by themselves; run this after changing cases with raw SQL.
"""

import time

from django.core.management.base import BaseCommand

from casestudies import facets
from casestudies.models import FacetCell


class Command(BaseCommand):
    help = "Rebuild the pre-counted facet cells of the case-study list."

    def handle(self, *args, **options):
        started = time.perf_counter()
        facets.rebuild()
        self.stdout.write(f"{FacetCell.objects.count():,} facet cells in {time.perf_counter() - started:.2f} s.")
