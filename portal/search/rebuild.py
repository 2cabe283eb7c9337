"""Building the whole index: for `manage.py rebuild_search_index` and a fresh database."""

import sys

from portal import pagecache
from portal.search import engine, registry

BATCH = 500


def rebuild(*, kinds=None, progress=None) -> int:
    """Clear and rebuild the index of ``kinds`` (all by default); returns the entries written."""
    selected = [k for k in registry.kinds() if kinds is None or k.key in kinds]
    total = sum(k.queryset().count() for k in selected)
    done = written = 0
    for kind in selected:
        engine.clear(kind)
        batch = []
        for obj in kind.queryset().order_by("pk").iterator(chunk_size=BATCH):
            batch.append(obj)
            if len(batch) == BATCH:
                written += engine.index_objects(kind, batch, replace=False)
                done += len(batch)
                batch = []
                if progress:
                    progress(done, total)
        written += engine.index_objects(kind, batch, replace=False)
        done += len(batch)
        if progress:
            progress(done, total)
    # The index was written in bulk, without model signals: pages read from it are old.
    pagecache.bump_all()
    return written


def progress_bar(stream=sys.stderr, width=40):
    def show(done: int, total: int) -> None:
        filled = width * done // total if total else width
        pct = 100 * done // total if total else 100
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {pct:3d}% {done:,}/{total:,}")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show


def build_if_empty(sender=None, **kwargs) -> None:
    """After migrate: each kind whose content has no index entries yet (content loaded by data
    migrations, which write through historical models and send no signals) gets indexed."""
    from django.db import DEFAULT_DB_ALIAS

    from portal.models import SearchEntry

    if kwargs.get("using", DEFAULT_DB_ALIAS) != DEFAULT_DB_ALIAS:
        return
    missing = [
        k.key for k in registry.kinds() if k.queryset().exists() and not SearchEntry.objects.filter(kind=k.key).exists()
    ]
    if missing:
        rebuild(kinds=missing)
