"""dbt's threads parse Python literals (Jinja's native rendering) at the same time; CPython 3.11's AST
builder shares one recursion counter between threads, so the night serialises `ast.parse`."""

import ast
import gc
import threading
import time

from orchestration.pipeline.dbt import parse_python_one_thread_at_a_time

# a literal deep and long enough that the collector runs in the middle of building its AST
LITERAL = "[" + ",".join(f"({i}, 'a{i}', {{'k': [{i}, {i + 1}]}})" for i in range(300)) + "]"


def _parse_in_threads(threads: int = 4, parses: int = 150) -> list[str]:
    """Threads evaluating LITERAL while every collection hands the GIL to another thread: the errors."""
    errors: list[str] = []

    def evaluate():
        for _ in range(parses):
            if errors:
                return
            try:
                assert ast.literal_eval(LITERAL)[299][0] == 299
            except SystemError as error:
                errors.append(str(error))

    def hand_over(phase, info):
        time.sleep(0)

    threshold = gc.get_threshold()
    gc.set_threshold(50)
    gc.callbacks.append(hand_over)
    try:
        workers = [threading.Thread(target=evaluate) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        gc.callbacks.remove(hand_over)
        gc.set_threshold(*threshold)
    return errors


def test_literals_parse_in_parallel_threads_without_a_recursion_mismatch():
    parse_python_one_thread_at_a_time()
    assert _parse_in_threads() == []


def test_the_lock_is_installed_once(monkeypatch):
    monkeypatch.setattr(ast, "parse", ast.parse)  # restored after the test
    first = parse_python_one_thread_at_a_time()
    wrapped = ast.parse
    assert not parse_python_one_thread_at_a_time()
    assert ast.parse is wrapped
    assert first or getattr(wrapped, "holds_the_ast_lock", False)
