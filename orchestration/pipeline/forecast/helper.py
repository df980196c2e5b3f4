"""The forecast's cores: helper processes that do the phase's tasks while the night's process waits.

The phase is ~80 small statsmodels fits a night (4 backtest origins × 3 ETS configurations, Theta and
the baseline, then the forecast itself, per channel) and a price-elasticity regression: one core's
Python work in independent tasks (one per channel, one for the elasticity). So `HELPERS` helper
processes (one per core, at most two) are started as the night's dbt build starts (`prestart`; else
as the phase starts), importing pandas and statsmodels meanwhile at a lower priority than the build
(`HELPER_NICENESS`), and they take tasks from one list until none is left: the one that finishes
first takes the next, so a slow task does not leave the other core waiting. The night's process does
none of them itself when it has helpers: it would first import statsmodels (1.7 s of its phase at the
1M bench, found with py-spy, while the one helper it had then did most channels).

The helpers only save time: they run the same function on the same arguments (one BLAS thread, as the
night's process does), so the rows are the same. When they are switched off (`CWH_FORECAST_HELPER=0`),
the machine has one core, or one fails, the night computes what the helpers did not return, exactly
as without them. Tasks and results cross the pipe as pickles between processes of this checkout.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

SWITCH_ENV = "CWH_FORECAST_HELPER"  # "0": every task in the night's own process
# a phase is ~6 tasks of ~0.5 s at the 1M bench: a third process would spend more importing than it saves
HELPERS = 2
HELPER_NICENESS = 10


def enabled() -> bool:
    return (os.environ.get(SWITCH_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}
            and (os.cpu_count() or 1) > 1)


def helper_count() -> int:
    """Helpers a phase gets: one per core, at most HELPERS; none when switched off or on one core."""
    return min(os.cpu_count() or 1, HELPERS) if enabled() else 0


class HelperError(RuntimeError):
    """The helper did not return a task's result (it stopped, or the task raised there)."""


class ForecastHelper:
    """One helper process: started at once (it imports `preload`), given one task at a time — a
    module-level function and its arguments, pickled by reference and value — closed at the end."""

    def __init__(self, preload: tuple[str, ...] = ()) -> None:
        self._stderr = tempfile.TemporaryFile()
        self._process = subprocess.Popen([sys.executable, "-m", __name__, *preload], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=self._stderr)
        self.peak_rss_mb = 0.0

    def compute(self, function: Callable[..., Any], task: tuple) -> Any:
        """`function(*task)` in the helper; HelperError when it stopped or the call raised there."""
        assert self._process.stdin is not None and self._process.stdout is not None
        try:
            pickle.dump((function, task), self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._process.stdin.flush()
            status, value = pickle.load(self._process.stdout)
        except (OSError, EOFError, pickle.UnpicklingError) as err:
            raise HelperError(f"the forecast helper stopped ({err}): {self._stderr_tail()}") from err
        if status != "ok":
            raise HelperError(f"the forecast helper failed on {task[0]!r}: {value}")
        return value

    def rss_peak_so_far_mb(self) -> float:
        """Its peak memory until now (0 once it has ended)."""
        from connectors.landing_pool import peak_rss_mb

        return peak_rss_mb(self._process.pid)

    def close(self) -> float:
        """End the helper; its peak memory (MB), 0 when it had already stopped."""
        try:
            assert self._process.stdin is not None and self._process.stdout is not None
            pickle.dump(None, self._process.stdin)
            self._process.stdin.close()
            status, value = pickle.load(self._process.stdout)
            self.peak_rss_mb = float(value) if status == "peak" else 0.0
        except (OSError, EOFError, pickle.UnpicklingError, ValueError):
            self._process.kill()
        self._process.wait()
        self._stderr.close()
        return self.peak_rss_mb

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no message"


_prestarted: list[ForecastHelper] = []


def prestart(preload: tuple[str, ...]) -> None:
    """Start the helpers now, to import `preload` while the night does other work (the dbt build);
    the phase adopts them with `take`. Helpers never taken end with the night's process."""
    if not _prestarted:
        _prestarted.extend(ForecastHelper(preload) for _ in range(helper_count()))


def prestarted_peak_rss_mb() -> float:
    """The prestarted helpers' memory so far: the night counts it in the step it waited through."""
    return sum(helper.rss_peak_so_far_mb() for helper in _prestarted)


def take(preload: tuple[str, ...]) -> list[ForecastHelper]:
    """The phase's helpers: the prestarted ones, else new ones; none when switched off."""
    helpers = list(_prestarted)
    _prestarted.clear()
    if not enabled():
        for helper in helpers:
            helper.close()
        return []
    return helpers or [ForecastHelper(preload) for _ in range(helper_count())]


def close_all(helpers: list[ForecastHelper]) -> float:
    """End the helpers; their peak memory summed (MB: they ran side by side)."""
    return sum(helper.close() for helper in helpers)


def share_work(tasks: list[tuple], compute: Callable[..., Any],
               helpers: Sequence[ForecastHelper] = ()) -> list[Any]:
    """`[compute(*task) for task in tasks]` (`compute` a module-level function), in order. With
    helpers, they take the tasks from one list and this process computes only what they could not
    return; without, this process computes every task."""
    todo, results, lock = deque(enumerate(tasks)), [None] * len(tasks), threading.Lock()
    done = [False] * len(tasks)

    def next_task():
        with lock:
            return todo.popleft() if todo else None

    def helper_loop(helper: ForecastHelper) -> None:
        while (item := next_task()) is not None:
            index, task = item
            try:
                results[index] = helper.compute(compute, task)
            except HelperError as err:  # its task is done below, after the join
                log.info("%s; the other helpers and this process do the rest", err)
                return
            done[index] = True

    threads = [threading.Thread(target=helper_loop, args=(helper,), name="forecast-helper", daemon=True)
               for helper in helpers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, task in enumerate(tasks):  # every task without helpers; else what they did not return
        if not done[index]:
            results[index] = compute(*task)
    return results


# ---- the helper's side ----------------------------------------------------------------------------
def _serve(preload: list[str]) -> None:
    """Import `preload`; then read tasks (function, arguments) until None and answer each with ("ok",
    result) or ("error", why); then ("peak", its peak RSS in MB)."""
    import importlib

    from threadpoolctl import threadpool_limits

    # imported with the rest, not at the end: its modules (the lake's) took ~0.25 s of the phase's close
    from connectors.landing_pool import peak_rss_mb

    # below the night's process: started as the dbt build starts, the helpers import on the cycles dbt leaves
    # idle instead of taking them from it (unniced, two importing helpers slowed the 1M incremental night's
    # build by ~0.5 s); in the phase the night's process only waits, so nothing else wants the cores
    os.nice(HELPER_NICENESS)
    sink = os.fdopen(os.dup(1), "wb")  # the pipe is for pickles only: anything printed goes to stderr
    os.dup2(2, 1)
    for module in preload:
        importlib.import_module(module)
    source = sys.stdin.buffer
    with threadpool_limits(limits=1, user_api="blas"):  # as the night's process (phase.run_forecast)
        while (request := pickle.load(source)) is not None:
            function, task = request
            try:
                answer = ("ok", function(*task))
            except Exception as err:  # noqa: BLE001 — the night computes it itself and sees the error
                answer = ("error", f"{type(err).__name__}: {err}")
            pickle.dump(answer, sink, protocol=pickle.HIGHEST_PROTOCOL)
            sink.flush()
    pickle.dump(("peak", peak_rss_mb()), sink)
    sink.flush()


if __name__ == "__main__":
    try:
        _serve(sys.argv[1:])
    except (EOFError, BrokenPipeError):  # the night ended without closing it
        pass
    os._exit(0)  # no teardown of pandas' and statsmodels' heaps (orchestration/quick_exit.py)
