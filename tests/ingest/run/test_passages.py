"""The passage tasks choose, from the sketches' columns and each batch's arrays, the
stories and candidate pairs that the stories' `Sketch`es and their anchors give."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ingest.config import load_config
from ingest.dedup.passages import candidate_pairs, min_shared_anchors, stories
from ingest.dedup.stock_phrases import stock_limit
from ingest.run import pipeline
from ingest.run.passages import passage_tasks
from tests.samples import article, span_text


def test_passage_tasks_pair_the_stories_of_the_sketches(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(60):
        quote = f"\n\nThe minister said: {span_text(1000 + i % 12 * 100, 30)} before leaving." if i % 2 else ""
        (folder / f"story-{i}.txt").write_text(article(i) + quote, encoding="utf-8")
        if i % 6 == 0:
            (folder / f"copy-{i}.txt").write_text(article(i) + quote, encoding="utf-8")
            (folder / f"short-{i}.txt").write_text(f"Brief note {i}.", encoding="utf-8")  # under an n-gram
    config = load_config()
    config = config.model_copy(update={"run": config.run.model_copy(update={"batch_files": 9})})  # several batches
    checked = []

    def passage_tasks_checked(dedup, result, config, words, workers, spill_to=None):
        chunks, stock = passage_tasks(dedup, result, config, words, workers, spill_to)
        passages = config.dedup.passages
        chosen = stories(dedup.sketches(), result.cluster_of, passages)
        where = np.array([(s.batch, s.row) for s in chosen], dtype=np.int32).reshape(-1, 2)
        first, second, expected_stock = candidate_pairs(
            [words.anchors(batch, row) for batch, row in where.tolist()], min_shared_anchors(passages),
            stock_limit(len(where), passages), passages.rare_anchor_documents)
        assert len(set(where[:, 0].tolist())) > 2 and len(where) < len(list(dedup.ids())) - 10
        assert np.array_equal(np.concatenate(chunks), np.hstack((where[first], where[second])))
        assert np.array_equal(stock.keys, expected_stock.keys) and stock.bits == expected_stock.bits
        checked.append(len(first))
        return chunks, stock

    monkeypatch.setattr(pipeline, "passage_tasks", passage_tasks_checked)
    pipeline.run([str(folder)], tmp_path / "out", config)
    assert checked and checked[0] > 10
