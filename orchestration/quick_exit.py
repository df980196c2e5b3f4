"""Ending a `cwh` process without tearing its heap down object by object.

After a night the interpreter holds dbt's manifest, Dagster's definitions and the modules of both:
freeing them one by one at exit took ~3 s of a 1M-line night (measured: no open DuckDB connection,
no atexit work — only the teardown). Everything the command writes is written, flushed and closed
when it returns, so the process flushes its streams and logs and ends at once. Not when another
non-daemon thread still runs (its work must finish: the normal exit waits for it), and not inside
a test runner (it calls the app, not this).
"""

import logging
import os
import sys
import threading


def exit_code(status: object) -> int:
    """The exit status `sys.exit(status)` would give (None → 0, an int → itself, else 1)."""
    if status is None:
        return 0
    return status if isinstance(status, int) else 1


def run_then_exit(main) -> None:
    """Call `main()` (which may raise SystemExit), then end the process with its status."""
    try:
        main()
        status: object = 0
    except SystemExit as done:
        status = done.code
    if status is not None and not isinstance(status, int):
        print(status, file=sys.stderr)  # what sys.exit("message") prints
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(exit_code(status))
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    logging.shutdown()
    _release_multiprocessing_semaphores()
    os._exit(exit_code(status))


def _release_multiprocessing_semaphores() -> None:
    """Unlink the process's multiprocessing semaphores (the queues and locks of the landing pool and the
    helpers), as the normal exit does in its finalizers. Skipped, multiprocessing's resource tracker unlinks
    them itself and prints "There appear to be N leaked semaphore objects" at the end of every `cwh run`.
    Only those finalizers run, not the heap's teardown."""
    from multiprocessing import util

    util._run_finalizers(0)  # what multiprocessing's own exit runs first (priority >= 0)
