"""Memory around a run's steps: the garbage collector paused or frozen, freed pages returned.

Importing Prefect creates hundreds of thousands of objects that live as long as the
process; the central dedup creates a hundred thousand sketches that live to the end of
the run. While such objects are created, the collector runs full collections over all
of them again and again, and finds nothing to free. Only the standard library is
imported here: the CLI and the temporary API server use this before anything heavy.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_imports() -> Iterator[None]:
    """Run the block (the imports) without collections, then freeze what exists: the
    collector skips it from then on. The cyclic garbage the imports leave stays (about
    11 MiB of the API server's 170); collecting it would cost a full collection.

    Measured: the API server's imports and app 2.6 -> 2.1 s of CPU; the CLI's Prefect
    import 0.76 -> 0.67 s."""
    try:
        with collection_paused():
            yield
    finally:
        gc.freeze()


@contextmanager
def collection_paused() -> Iterator[None]:
    """Run the block without collections; the collector's state is restored after it.

    Measured on the central steps at 100,000 documents (dedup and the choice of story
    pairs, 5.4 s): six full collections, 0.5 s; the peak memory is the same (420 and
    424 MiB)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


try:
    _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # not glibc
    _malloc_trim = None


def release_freed_memory() -> None:
    """Give the heap pages freed by the last step back to the OS (glibc's malloc_trim,
    as Dask's workers do): otherwise a process stays at the size of its largest step.
    Measured at 100,000 documents: workers 155 -> 124 MiB between batches, the flow's
    process 429 -> 345 MiB after the central steps."""
    if _malloc_trim is not None:
        _malloc_trim(0)
