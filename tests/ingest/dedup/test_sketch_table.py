"""The sketch table's columns: each source read back as it was added, packed or not."""

from __future__ import annotations

import sys

import numpy as np

from ingest.dedup.minhash import Sketch
from ingest.dedup.sketch_table import Sources, SketchTable

# Sources as the readers make them ("FILE#N") and every other shape a source can take.
SOURCES = ["/data/shards/shard-00012.jsonl#0", "/data/shards/shard-00012.jsonl#345",
           "/data/shards/shard-00013.jsonl#7", "/data/page.html", "/data/a#b/feed.xml#12", "/data/odd.jsonl#007",
           "/data/odd.jsonl#-3", "/data/odd.jsonl#", "#5", "/data/odd.jsonl#٣", "/data/page.html",
           "/data/shards/shard-00012.jsonl#345"]


def test_sources_read_back_as_added() -> None:
    sources = Sources()
    for source in SOURCES:
        sources.append(source)
    assert [sources[p] for p in range(len(sources))] == SOURCES


def test_numbered_sources_hold_each_file_once() -> None:
    """A file's records share its name: the packed column holds no string a record."""
    sources = Sources()
    for n in range(1000):
        sources.append(f"/data/shards/shard-{n % 3:05d}.jsonl#{n}")
    held = sum(sys.getsizeof(s) for s in sources._distinct)
    assert held < 3 * 100
    assert sources[999] == "/data/shards/shard-00000.jsonl#999"


def test_a_sketch_read_from_the_table_has_its_source() -> None:
    words = {(0, n): np.arange(n, dtype=np.uint32) for n in range(len(SOURCES))}
    table = SketchTable(lambda batch, row: words[(batch, row)])
    for n, source in enumerate(SOURCES):
        table.add(Sketch(f"doc-{n}", 10 * n, None, "2026-01-01T00:00:00Z", source, words[(0, n)][:0],
                         words[(0, n)][:0], 0, n))
    assert [table[f"doc-{n}"].source for n in range(len(SOURCES))] == SOURCES
    assert table["doc-4"].tokens.tolist() == [0, 1, 2, 3]
