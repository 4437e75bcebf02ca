"""The run's scratch folder (`OUT/.ingest-work`): where batches spill what later phases read."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    """The run's scratch folder for spilled batches; removed when the run completes."""

    root: Path

    def prepared(self, batch: int) -> Path:
        return self.root / f"prepared-{batch:05d}.jsonl"

    def cleaned(self, batch: int) -> Path:
        return self.root / f"cleaned-{batch:05d}.jsonl"

    def rejects(self, batch: int, phase: str) -> Path:
        return self.root / f"rejects-{phase}-{batch:05d}.jsonl"

    def words(self, batch: int, kind: str) -> Path:
        """A cleaned batch's spilled words and sketches, of one `kind` (see BatchWords)."""
        return self.root / f"{kind}-{batch:05d}.{'json' if kind == 'ids' else 'npy'}"

    def ids(self, batch: int) -> list[str]:
        """A cleaned batch's document ids, in row order."""
        return json.loads(self.words(batch, "ids").read_text(encoding="utf-8"))

    def part(self, batch: int, name: str) -> Path:
        """One batch's share of an output file ("documents" or "duplicates")."""
        return self.root / f"{name}-{batch:05d}.jsonl"

    def create(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)  # left by a crashed run: its batches are redone
        self.root.mkdir(parents=True)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
