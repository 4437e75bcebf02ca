from __future__ import annotations

from typing import get_args

from flows import workers
from ingest.cli_scale import RUNNERS
from ingest.config import RunConfig


def test_the_runner_choices_are_the_configs_and_the_runners() -> None:
    """Three lists of one thing: the config's Literal, the command line's choices (which
    must not import pydantic) and the runner check of flows/workers.py (which must not
    import the command line)."""
    assert RUNNERS == get_args(RunConfig.model_fields["runner"].annotation) == workers.RUNNERS
