"""Fixtures of the gate tests (test_sla.py, test_sla_breakdown.py, test_expectations.py): the clean
demo lake and a private copy of it a test may break."""

import shutil
from datetime import datetime

import pytest

from connectors.lake import Home, land_all
from orchestration.demo import generate
from tests.orchestration.demo_lake import END, LANDED_AT

_DEMO: dict[str, Home] = {}


class _LandingClock(datetime):
    @classmethod
    def now(cls, tz=None):
        return cls.fromtimestamp(LANDED_AT.timestamp(), tz)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> Home:
    """The clean demo lake: 60 days through 2026-10-31, generated and landed once per test process
    (tests that break something work on a copy: `lake`)."""
    if "home" not in _DEMO:
        home = Home(tmp_path_factory.mktemp("sla_demo") / "home")
        # a UTC business: the gate tests' edges and lags are written as UTC hours (a business time zone's
        # local midnight: tests/connectors/test_business_timezone.py)
        generate(home.root, days=60, orders_per_day=30, end=END, timezone="UTC")
        with pytest.MonkeyPatch.context() as patch:  # landed by the nightly run of Nov 1, whatever today is
            patch.setattr("connectors.lake.datetime", _LandingClock)
            results = land_all(home)
        assert {r.status for r in results} == {"loaded"}
        _DEMO["home"] = home
    return _DEMO["home"]


@pytest.fixture
def lake(demo_home, tmp_path) -> Home:
    """A private copy of the demo lake a test may break."""
    root = tmp_path / "home"
    shutil.copytree(demo_home.root, root)
    return Home(root)
