"""The forecast's helper processes (orchestration/pipeline/forecast/helper.py) only save time: they
share the phase's tasks (the channels, the elasticity), and the tables are the same as without them,
in the same order, whether the helpers work, stop half-way or fail on a task."""

from __future__ import annotations

import os
import shutil
import time

import pandas as pd
import pyarrow.parquet as pq
import pytest
from threadpoolctl import threadpool_info

from connectors.home import Home
from orchestration.pipeline.forecast import DATA_FILE, TABLES, forecast_folder
from orchestration.pipeline.forecast import helper as helper_module
from orchestration.pipeline.forecast.helper import ForecastHelper, close_all, share_work
from orchestration.pipeline.forecast.phase import forecast_all, run_forecast
from tests.forecast.conftest import DEMO_END
from tests.forecast.test_forecast import END, synthetic_history


def worked_by(task: int, seconds: float = 0.05) -> tuple[int, int]:
    """A task that takes a little time and says which process did it."""
    time.sleep(seconds)
    return task, os.getpid()


def dies_after_its_first_task(task: int, night_pid: int) -> tuple[int, int]:
    """In the helper: the first task's answer is sent, the second kills it before it answers."""
    global _helper_tasks
    if os.getpid() != night_pid:
        _helper_tasks += 1
        if _helper_tasks > 1:
            os._exit(1)
    time.sleep(0.05)
    return task, night_pid  # the helper's answer says the night's pid: the same row either way


_helper_tasks = 0


def blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def fails_on_three(task: int) -> int:
    if task == 3:
        raise ValueError("three")
    return task * 10


@pytest.fixture
def helper():
    started = ForecastHelper(preload=(__name__,))
    assert started.compute(os.getpid, ()) == started._process.pid  # ready: it takes tasks at once
    yield started
    started.close()


def test_the_helpers_take_tasks_from_one_list_and_the_results_keep_their_order(helper):
    second = ForecastHelper(preload=(__name__,))
    results = share_work([(n,) for n in range(30)], worked_by, [helper, second])
    assert [task for task, _ in results] == list(range(30))
    workers = {pid for _, pid in results}
    assert workers == {helper._process.pid, second._process.pid}  # both did some; this process none
    assert close_all([helper, second]) > helper.peak_rss_mb > 0  # their peaks summed, for the night's figures


def test_without_helpers_this_process_does_every_task():
    assert share_work([(n,) for n in range(3)], worked_by, []) == [(n, os.getpid()) for n in range(3)]


def test_a_helper_that_stops_half_way_leaves_its_tasks_to_this_process(helper):
    tasks = [(n, os.getpid()) for n in range(12)]
    results = share_work(tasks, dies_after_its_first_task, [helper])
    assert results == [(n, os.getpid()) for n in range(12)]  # every task, done here, in order
    assert helper.close() == 0.0  # it had stopped: no peak to tell


def test_a_task_that_fails_in_the_helper_fails_here_as_it_would_without_it(helper):
    with pytest.raises(ValueError, match="three"):
        share_work([(n,) for n in range(8)], fails_on_three, [helper])
    assert share_work([(n,) for n in (1, 2)], fails_on_three) == [10, 20]


def test_the_forecast_tables_are_the_same_with_the_helper():
    two_channels = pd.concat([synthetic_history(seed=3),
                              synthetic_history(seed=5).assign(channel="wholesale"),
                              synthetic_history(seed=8).assign(channel="amazon_us")], ignore_index=True)
    alone, alone_outcome = forecast_all(two_channels, END)
    helpers = [ForecastHelper(preload=("orchestration.pipeline.forecast.phase",)) for _ in range(2)]
    try:
        shared, shared_outcome = forecast_all(two_channels, END, helpers=helpers)
    finally:
        close_all(helpers)
    assert shared == alone
    assert shared_outcome.methods == alone_outcome.methods and shared_outcome.warnings == alone_outcome.warnings


def test_the_helper_runs_below_the_nights_priority(helper):
    """Prestarted as the dbt build starts, it imports on the cycles the build leaves idle."""
    assert helper.compute(os.nice, (0,)) == min(os.nice(0) + helper_module.HELPER_NICENESS, 19)


def test_the_helper_fits_on_one_blas_thread(helper):
    """As the night's process does (phase.run_forecast): one thread per fit, the same sums."""
    in_helper = helper.compute(blas_threads, ())
    assert in_helper and set(in_helper) == {1}


def test_the_night_phase_writes_the_same_tables_with_its_helper(seeded_demand_home, tmp_path, monkeypatch):
    home = Home(tmp_path / "home")
    shutil.copytree(seeded_demand_home.root, home.root)
    written = {}
    for switch in ("0", "1"):
        monkeypatch.setenv("CWH_FORECAST_HELPER", switch)
        outcome = run_forecast(home, DEMO_END)
        assert outcome.ok, outcome.warnings
        assert (outcome.helper_peak_rss_mb > 0) == (switch == "1")  # told to the night's memory figures
        written[switch] = {name: pq.read_table(forecast_folder(home) / name / DATA_FILE)
                           for name in TABLES}
    assert written["0"]["demand_forecast"].num_rows > 0 and written["0"]["price_elasticity"].num_rows > 0
    for name in TABLES:
        assert written["1"][name].equals(written["0"][name]), name


def test_the_phase_adopts_the_helpers_the_night_started_before_its_dbt_build(monkeypatch):
    monkeypatch.setenv("CWH_FORECAST_HELPER", "1")
    monkeypatch.setattr(helper_module, "_prestarted", [])
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    helper_module.prestart(("os",))
    started = list(helper_module._prestarted)
    assert len(started) == 2  # one per core
    assert all(h.compute(os.getpid, ()) == h._process.pid for h in started)  # up and running
    assert helper_module.prestarted_peak_rss_mb() > 0  # what the night counts in its dbt step
    adopted = helper_module.take(("os",))
    assert adopted == started and helper_module._prestarted == []
    assert close_all(adopted) > 0


def test_one_core_gets_no_helper_and_more_cores_at_most_two(monkeypatch):
    monkeypatch.setenv("CWH_FORECAST_HELPER", "1")
    for cores, helpers in ((1, 0), (2, 2), (8, 2)):
        monkeypatch.setattr(os, "cpu_count", lambda cores=cores: cores)
        assert helper_module.helper_count() == helpers


def test_switched_off_the_phase_takes_no_helper_and_ends_the_prestarted_ones(monkeypatch):
    monkeypatch.setenv("CWH_FORECAST_HELPER", "1")
    monkeypatch.setattr(helper_module, "_prestarted", [])
    helper_module.prestart(("os",))
    started = list(helper_module._prestarted)
    assert started
    monkeypatch.setenv("CWH_FORECAST_HELPER", "0")
    assert helper_module.take(("os",)) == []
    for helper in started:
        helper._process.wait(timeout=10)
        assert helper._process.poll() is not None  # ended, not left running


def test_a_failed_elasticity_empties_its_table_only_with_a_warning(seeded_demand_home, tmp_path, monkeypatch):
    """The elasticity is a task like a channel's: its failure (in a helper or here) is a warning."""
    from orchestration.pipeline.forecast import elasticity

    home = Home(tmp_path / "home")
    shutil.copytree(seeded_demand_home.root, home.root)
    monkeypatch.setenv("CWH_FORECAST_HELPER", "0")  # a helper would import the real module again

    def broken(con):
        raise RuntimeError("singular matrix")

    monkeypatch.setattr(elasticity, "price_elasticity", broken)
    outcome = run_forecast(home, DEMO_END)
    assert outcome.warnings == ["price elasticity failed (RuntimeError: singular matrix); its table is empty"]
    assert outcome.rows["price_elasticity"] == 0 and outcome.rows["demand_forecast"] > 0
