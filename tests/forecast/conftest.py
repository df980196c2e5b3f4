"""The demo home both the forecast and the elasticity tests read: 120 days of the generator's seeded
demand, landed, and the marts the two estimates read built (without their data tests: the marts are
tested elsewhere). Built once per test session (per xdist worker)."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.lake import Home, land_all
from orchestration.demo import generate
from orchestration.pipeline.dbt import failures, run_dbt

DEMO_END = date(2026, 10, 31)


@pytest.fixture(scope="session")
def seeded_demand_home(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("seeded_demand"))
    generate(home.root, days=120, orders_per_day=60, end=DEMO_END)
    land_all(home)
    result = run_dbt(home, "build", "--select", "+fct_order_lines", "+dim_product", "+promo_periods",
                     "+int_inventory_location_daily", "--exclude-resource-type", "test")
    assert result.success, failures(result)
    return home
