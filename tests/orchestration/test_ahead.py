"""Work a night starts before the step that needs it (pipeline/ahead.py): dbt's parse from the gates'
start, the forecast phase from the end of a build that succeeded; each step takes the result, only a
night whose later step follows starts it, and nothing outlives its night."""

import threading
from datetime import date

import pytest

from connectors.home import Home
from orchestration.pipeline import run as night
from orchestration.pipeline.ahead import ahead
from orchestration.pipeline.forecast.phase import ForecastOutcome


def test_work_ahead_runs_on_its_own_thread_and_hands_its_result_over():
    release, seen = threading.Event(), []

    def work(a, b):
        seen.append(threading.current_thread())
        release.wait(5)
        return a + b

    started = ahead("sum", work, 2, 3)
    release.set()
    assert started.result() == 5
    assert seen[0].name.startswith("cwh-sum") and seen[0] is not threading.current_thread()
    seen[0].join(5)
    assert not seen[0].is_alive()  # no idle thread left behind (`cwh` ends at once only without one)


def test_work_ahead_that_raises_raises_in_the_step_that_takes_it():
    def parse():
        raise RuntimeError("dbt_project.yml is not valid YAML")

    with pytest.raises(RuntimeError, match="not valid YAML"):
        ahead("dbt-parse", parse).result()


@pytest.mark.parametrize("builds", [True, False])
def test_the_gates_start_dbt_s_parse_only_for_a_night_that_builds(tmp_path, monkeypatch, builds):
    parsed = []
    monkeypatch.setattr(night, "parse_project", lambda home, variables: parsed.append(variables) or "manifest")
    monkeypatch.setattr(night, "outcomes_before_expectations", lambda home, feed, day: [])
    monkeypatch.setattr(night, "with_expectations", lambda home, feed, outcomes: outcomes)
    report = night.RunReport("run", date(2026, 11, 2))
    report.builds_warehouse = builds
    night.gate(Home(tmp_path), report, feeds=["shopify_orders"])
    assert (report.parse_ahead is not None) is builds
    if builds:
        assert report.parse_ahead.result() == "manifest" and parsed == [night.snapshot_args()]


@pytest.mark.parametrize("follows", [True, False])
def test_a_build_starts_the_forecast_only_when_the_forecast_step_follows(tmp_path, monkeypatch, follows):
    outcome = ForecastOutcome(rows={"demand_forecast": 3})
    closed = []
    monkeypatch.setattr(night, "run_forecast", lambda home, last_day: closed.append(last_day) or outcome)
    report = night.RunReport("run", date(2026, 11, 2))
    report.forecast_follows = follows
    night.start_forecast_ahead(Home(tmp_path), report)
    assert (report.forecast_ahead is not None) is follows
    report.wait_for_work_ahead()
    assert closed == ([date(2026, 11, 1)] if follows else [])  # the night closes the day before its date


def test_the_forecast_step_takes_the_outcome_started_ahead(tmp_path, monkeypatch):
    outcome = ForecastOutcome(rows={"demand_forecast": 3}, methods={"shopify_web": "theta"})

    def computed_again(home, last_day):
        raise AssertionError("the forecast step computed the forecast again")

    monkeypatch.setattr(night, "run_forecast", computed_again)
    report = night.RunReport("run", date(2026, 11, 2))
    report.forecast_ahead = ahead("forecast", lambda: outcome)
    assert night.forecast(Home(tmp_path), report) is outcome
    assert report.forecast_ahead is None and report.checks[-1].check == "forecast"


def test_the_gates_judge_every_check_but_the_expectations_while_the_helper_validates(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(night, "parse_project", lambda home, variables: "manifest")
    monkeypatch.setattr(night, "outcomes_before_expectations",
                        lambda home, feed, day: calls.append(("judge", feed)) or [])
    monkeypatch.setattr(night, "_wait_for_suite_worker", lambda report: calls.append(("wait",)))
    monkeypatch.setattr(night, "with_expectations", lambda home, feed, outcomes: calls.append(("results", feed)) or [])
    night.gate(Home(tmp_path), night.RunReport("run", date(2026, 11, 2)), feeds=["shopify_orders", "fx_rates"])
    assert calls == [("judge", "shopify_orders"), ("judge", "fx_rates"), ("wait",),
                     ("results", "shopify_orders"), ("results", "fx_rates")]


def test_a_feed_s_outcomes_keep_their_order_with_the_expectations_after_schema_drift(lake):
    from orchestration.pipeline.gates.feed import EXTRA_CHECKS, FEED_CHECKS, feed_outcomes

    checks = [outcome.check for outcome in feed_outcomes(lake, "shopify_orders", date(2026, 11, 1))]
    assert checks == [*FEED_CHECKS, *EXTRA_CHECKS["shopify_orders"]]
