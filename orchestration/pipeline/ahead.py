"""Work a night starts before the step that needs it, on a thread, while it does something else.

A night's steps run one after another in one process, and some of them mostly wait: the gates on the
expectations' helper process, Dagster on storing the dbt step's events. What the next step needs and can
start already runs meanwhile (`pipeline.run`: dbt's parse from the gates' start, the forecast phase as the
dbt step hands its events to Dagster); the step then takes its result. Nothing outlives its night: a run
that ends before the step waits for the thread (`defs.resources.NightRun`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


def ahead(name: str, function: Callable[..., Any], *args: Any) -> Future:
    """`function(*args)` on a thread from now: its Future (`result()` waits, and raises what it raised)."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"cwh-{name}")
    try:
        return executor.submit(function, *args)
    finally:
        executor.shutdown(wait=False)  # the thread ends with its task: none is left idle in the process
