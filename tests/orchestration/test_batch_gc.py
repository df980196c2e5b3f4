"""The collector during a night: the heap it starts with frozen, the batch thresholds, all undone after;
new garbage still collected; and the bench's timer of the collector."""

import gc
import weakref

import pytest

from orchestration.batch_gc import BATCH_THRESHOLDS, CollectorTime, collect_less_often, night_heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


@pytest.fixture(autouse=True)
def _default_collector():
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


def test_a_night_freezes_the_heap_it_starts_with_and_undoes_it_after():
    gc.set_threshold(700, 10, 10)
    before = Node()
    with night_heap():
        assert gc.get_threshold() == BATCH_THRESHOLDS
        assert gc.get_freeze_count() > 0
        kept = weakref.ref(before)
        del before
        gc.collect()
        assert kept() is not None  # frozen: the collector leaves it alone during the night
    assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0
    gc.collect()
    assert kept() is None  # collected again once the night is over


def test_garbage_made_during_a_night_is_still_collected():
    with night_heap():
        garbage = weakref.ref(Node())
        gc.collect()
        assert garbage() is None


def test_a_night_that_raises_still_undoes_the_freeze():
    gc.set_threshold(700, 10, 10)
    with pytest.raises(RuntimeError), night_heap():
        raise RuntimeError("the night failed")
    assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0


def test_a_batch_process_collects_its_youngest_generation_less_often():
    collect_less_often()
    assert gc.get_threshold() == BATCH_THRESHOLDS and BATCH_THRESHOLDS[0] > 700


def test_the_collector_timer_counts_collections_by_generation_while_installed():
    with CollectorTime() as collector:
        gc.collect(0)
        gc.collect(2)
        gc.collect(2)
    gc.collect()  # after: not counted
    assert collector.collections[0] >= 1 and collector.collections[2] == 2
    assert collector.seconds > 0
    assert collector._on_collection not in gc.callbacks
