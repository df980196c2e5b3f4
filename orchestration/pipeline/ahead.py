"""Work a night starts before the step that needs it, on a thread, while it does something else.

A night's steps run one after another in one process, and some of them mostly wait: the gates on the
expectations' helper process, Dagster on storing the dbt step's events. What the next step needs and can
start already runs meanwhile (`pipeline.run`: dbt's parse from the gates' start, the forecast phase as the
dbt step hands its events to Dagster); the step then takes its result. Nothing outlives its night: a run
that ends before the step waits for the thread (`defs.resources.NightRun`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Ahead:
    """`function(*args)` on a thread from now; `result()` waits for it and returns what it returned, or
    raises what it raised."""

    def __init__(self, name: str, function: Callable[..., Any], *args: Any) -> None:
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(function, args), name=f"cwh-{name}", daemon=True)
        self._thread.start()

    def _run(self, function: Callable[..., Any], args: tuple) -> None:
        try:
            self._result = function(*args)
        except BaseException as err:  # noqa: BLE001 — raised again in the step that takes the result
            self._error = err

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result

    def wait(self) -> None:
        self._thread.join()
