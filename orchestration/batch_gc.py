"""Python's garbage collector in a batch process: a `cwh` command, a night in any process.

A night runs on ~340k long-lived objects (the modules of dbt, Dagster, Great Expectations and pandas,
Dagster's definitions and instance) and allocates millions of short-lived ones on top: dbt builds a
namespace of macros for every node it compiles. CPython's default collector (a young collection every
700 allocations, a full one whenever the old generation grew by a quarter) then walks the long-lived
heap again and again: 1.8 s of a 1M-line incremental night went to it (gc.callbacks), and ~0.5 s
more while `cwh` imported its modules.

So `cwh` collects its youngest generation every 10,000 allocations (as mypy does for the same reason)
and a night freezes the objects alive when it starts (`gc.freeze`: the collector no longer visits
them, nothing is freed or kept by it) for its length: 0.75 s, imports 0.4 s shorter. Both are undone
when the night ends, so a process that runs several nights (the tests, a code server) collects its old
objects again.
Cyclic garbage is still collected, only in larger batches: the peak memory stayed the same.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator

# (young allocations, young collections per middle one, middle collections per full one)
BATCH_THRESHOLDS = (10_000, 10, 10)


def collect_less_often() -> None:
    """For a whole batch process, before it imports what it runs (`cwh`, the bench's child)."""
    gc.set_threshold(*BATCH_THRESHOLDS)


@contextlib.contextmanager
def night_heap() -> Iterator[None]:
    """During a night: the objects alive at its start frozen, the batch thresholds; both undone after."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*BATCH_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


class CollectorTime:
    """The seconds the collector took, and its collections by generation, while installed (`with`):
    the bench's figure of what collecting garbage costs a night (gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._started: float | None = None

    def _on_collection(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1
            self._started = None

    def __enter__(self) -> CollectorTime:
        gc.callbacks.append(self._on_collection)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self._on_collection)
