from __future__ import annotations

from typing import get_args

from ingest.config import RunConfig
from ingest.runners import RUNNERS


def test_the_configs_runner_choices_are_the_runners() -> None:
    """The config's Literal is made of the names the command line offers."""
    assert get_args(RunConfig.model_fields["runner"].annotation) == RUNNERS == ("process", "dask")
