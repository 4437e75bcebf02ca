"""The garbage collector around steps that create many objects that stay alive."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import gc
from ingest.run.memory import frozen_imports
before = gc.get_freeze_count()
with frozen_imports():
    during = gc.isenabled()
    import json.tool, xml.dom.minidom  # modules this process has not imported yet
print(during, gc.isenabled(), gc.get_freeze_count() > before)
gc.disable()
with frozen_imports():
    pass
print(gc.isenabled())
"""


def test_imports_run_without_collections_then_are_frozen_and_collection_resumes() -> None:
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "False"]  # a disabled collector stays disabled


def test_a_paused_block_runs_without_collections_and_nothing_is_frozen() -> None:
    probe = """
import gc
from ingest.run.memory import collection_paused
before = gc.get_freeze_count()
with collection_paused():
    during = gc.isenabled()
    made = [[i] for i in range(1000)]
print(during, gc.isenabled(), gc.get_freeze_count() == before)
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True"]
