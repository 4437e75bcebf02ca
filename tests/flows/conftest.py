from __future__ import annotations

import pytest

# Prefect's own default is 30 s, which a busy two-core machine has been seen to miss
# (every flow test then errors at setup); the service tests give their server as long.
API_START_SECONDS = 180


@pytest.fixture(scope="session", autouse=True)
def prefect_api():
    """One temporary Prefect API and database for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=API_START_SECONDS):
        yield
