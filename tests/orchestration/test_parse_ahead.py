"""dbt's parse of a night runs on a thread from the gates' start and the build step takes its result;
only a night that builds starts it, and nothing outlives its night."""

import threading
import time
from datetime import date

import pytest

from connectors.home import Home
from orchestration.pipeline import dbt as pipeline_dbt
from orchestration.pipeline import run as night


def test_the_parse_ahead_hands_its_result_to_the_build_step(tmp_path, monkeypatch):
    started = threading.Event()

    def parse(home, variables):
        started.set()
        time.sleep(0.2)
        return ("parsed", home, tuple(variables))

    monkeypatch.setattr(pipeline_dbt, "parse_project", parse)
    home = Home(tmp_path)
    ahead = pipeline_dbt.ParseAhead(home)
    assert started.wait(5)  # on its own thread, from the start
    assert ahead.result() == ("parsed", home, tuple(pipeline_dbt.snapshot_args()))


def test_a_parse_that_raises_raises_in_the_build_step(tmp_path, monkeypatch):
    def parse(home, variables):
        raise RuntimeError("dbt_project.yml is not valid YAML")

    monkeypatch.setattr(pipeline_dbt, "parse_project", parse)
    ahead = pipeline_dbt.ParseAhead(Home(tmp_path))
    ahead.wait()
    with pytest.raises(RuntimeError, match="not valid YAML"):
        ahead.result()


@pytest.mark.parametrize("builds", [True, False])
def test_the_gates_start_the_parse_only_for_a_night_that_builds(tmp_path, monkeypatch, builds):
    started = []
    monkeypatch.setattr(night, "ParseAhead", lambda home: started.append(home) or "ahead")
    monkeypatch.setattr(night, "feed_outcomes", lambda home, feed, day: [])
    report = night.RunReport("run", date(2026, 11, 2))
    report.builds_warehouse = builds
    night.gate(Home(tmp_path), report, feeds=["shopify_orders"])
    assert (report.parse_ahead == "ahead") is builds and len(started) == builds
