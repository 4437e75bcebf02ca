from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def prefect_api():
    """One temporary Prefect API and database for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    # Prefect's default of 30 s to start its server is too short on a loaded 2-core machine.
    with prefect_test_harness(server_startup_timeout=180):
        yield
