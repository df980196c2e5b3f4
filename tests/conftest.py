import os

import pytest

from connectors.home import Home

# The nights of the suite validate in their own process: a GE helper per night (gates/suite_worker.py)
# would import GE again for every night of every test, where a test process imports it once.
# tests/orchestration/test_suite_worker.py switches the helper on where it is under test.
os.environ.setdefault("CWH_SUITE_WORKER", "0")
# and forecast alone: a forecast helper per night (forecast/helper.py) would import statsmodels again
# for every night; tests/forecast/test_forecast_helper.py switches it on where it is under test.
os.environ.setdefault("CWH_FORECAST_HELPER", "0")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Home:
    """An empty project home; CWH_HOME points at it for code that reads the environment."""
    root = tmp_path / "home"
    root.mkdir()
    monkeypatch.setenv("CWH_HOME", str(root))
    return Home(root)
