from __future__ import annotations

from typing import get_args

from ingest.cli_scale import RUNNERS
from ingest.config import RunConfig


def test_the_runner_choices_are_the_configs() -> None:
    assert RUNNERS == get_args(RunConfig.model_fields["runner"].annotation)
