"""Process start-up: heavy imports without the garbage collector.

Importing Prefect creates hundreds of thousands of objects that live as long as the
process. While they are created, the collector runs its full collections over all of
them again and again; afterwards, unless frozen, every full collection walks them once
more. Only the standard library is imported here: the CLI and the temporary API
server use this before anything heavy.
"""

from __future__ import annotations

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
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
