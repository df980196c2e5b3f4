"""The forecast's second core: a helper process that forecasts some of the night's channels.

The phase is ~80 small statsmodels fits a night (4 backtest origins × 3 ETS configurations, Theta and
the baseline, then the forecast itself, per channel), one core's Python work, channels independent of
each other, while the machine's other core sits idle. So a helper process is started as the night's
dbt build starts (`prestart`; else as the phase starts), importing pandas and statsmodels meanwhile,
and the night's process and the helper take channels from one list until none is left: the one that
finishes first takes the next, so a slow channel does not leave the other core waiting.

The helper only saves time: it runs the same function on the same frame (one BLAS thread, as the
night's process does), so the rows are the same. When it is switched off (`CWH_FORECAST_HELPER=0`),
the machine has one core, or it fails, the night computes what the helper did not return, exactly as
without it. Frames and results cross the pipe as pickles between two processes of this checkout.
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
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

SWITCH_ENV = "CWH_FORECAST_HELPER"  # "0": every channel in the night's own process


def enabled() -> bool:
    return (os.environ.get(SWITCH_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}
            and (os.cpu_count() or 1) > 1)


class HelperError(RuntimeError):
    """The helper did not return a channel (it stopped, or the channel raised there)."""


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


_prestarted: ForecastHelper | None = None


def prestart(preload: tuple[str, ...]) -> None:
    """Start a helper now, to import `preload` while the night does other work (the dbt build);
    the phase adopts it with `take`. A helper never taken ends with the night's process."""
    global _prestarted
    if _prestarted is None and enabled():
        _prestarted = ForecastHelper(preload)


def prestarted_peak_rss_mb() -> float:
    """The prestarted helper's memory so far: the night counts it in the step it waited through."""
    return _prestarted.rss_peak_so_far_mb() if _prestarted is not None else 0.0


def take(preload: tuple[str, ...]) -> ForecastHelper | None:
    """The phase's helper: the prestarted one, else a new one; None when switched off."""
    global _prestarted
    helper, _prestarted = _prestarted, None
    if not enabled():
        if helper is not None:
            helper.close()
        return None
    return helper or ForecastHelper(preload)


def share_work(tasks: list[tuple], compute: Callable[..., Any], helper: ForecastHelper | None) -> list[Any]:
    """`[compute(*task) for task in tasks]` (`compute` a module-level function), the helper (when
    given) taking tasks from the same list as this process. A task the helper could not do is done
    here, so the result is the same list."""
    todo, results, lock = deque(enumerate(tasks)), [None] * len(tasks), threading.Lock()
    done = [False] * len(tasks)

    def next_task():
        with lock:
            return todo.popleft() if todo else None

    def helper_loop() -> None:
        while (item := next_task()) is not None:
            index, task = item
            try:
                results[index] = helper.compute(compute, task)
            except HelperError as err:  # its task is done below, after the join
                log.info("%s; this process forecasts the rest", err)
                return
            done[index] = True

    thread = threading.Thread(target=helper_loop, name="forecast-helper", daemon=True) if helper else None
    if thread:
        thread.start()
    try:
        while (item := next_task()) is not None:
            index, task = item
            results[index], done[index] = compute(*task), True
    finally:
        if thread:
            thread.join()
    for index, task in enumerate(tasks):  # what the helper did not return
        if not done[index]:
            results[index] = compute(*task)
    return results


# ---- the helper's side ----------------------------------------------------------------------------
def _serve(preload: list[str]) -> None:
    """Import `preload`; then read tasks (function, arguments) until None and answer each with ("ok",
    result) or ("error", why); then ("peak", its peak RSS in MB)."""
    import importlib

    from threadpoolctl import threadpool_limits

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
    from connectors.landing_pool import peak_rss_mb

    pickle.dump(("peak", peak_rss_mb()), sink)
    sink.flush()


if __name__ == "__main__":
    try:
        _serve(sys.argv[1:])
    except (EOFError, BrokenPipeError):  # the night ended without closing it
        pass
    os._exit(0)  # no teardown of pandas' and statsmodels' heaps (orchestration/quick_exit.py)
