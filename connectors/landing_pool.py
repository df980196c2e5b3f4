"""Land many waiting files on several cores: feeds side by side, each feed's files in order.

Landing one file is mostly single-threaded Python and polars work, so a night landing hundreds of
files used one core of the machine. A pool of processes (threads were measured: the GIL held them to
1.17×) lands different feeds at once. One feed's files stay in one process, in file order, as a
sequential landing would: staging keeps the version of a key from the file landed last, so a feed's
landing order is part of its meaning. Every file still lands through `land_file`, all or nothing;
a worker that dies takes down the night like any crash, and what it left is swept next time.
"""

from __future__ import annotations

import json
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from connectors.home import Home
from connectors.lake import LandingResult, land_file

WORKERS_ENV = "CWH_LANDING_WORKERS"
# below this many bytes waiting, starting the processes (~1 s of imports each) costs what they save
POOL_MIN_BYTES = 32 << 20

# (label, stage, rows, fraction): a file's progress, as connectors.reader.Progress tells it
FileProgress = Callable[[str, str, int, float], None]
Task = tuple[int, str, Path, str]  # index in the waiting list, feed, path, label


def landing_workers(waiting: list[tuple[str, Path]]) -> int:
    """How many processes land `waiting`: `CWH_LANDING_WORKERS` if set, else one per core (up to
    one per feed), and 1 when the files are too few or small to repay starting processes."""
    feeds = len({feed for feed, _ in waiting})
    if configured := os.environ.get(WORKERS_ENV, "").strip():
        try:
            return max(1, min(int(configured), feeds))
        except ValueError:
            raise ValueError(f"{WORKERS_ENV}={configured!r} is not a number of processes; "
                             "set it to e.g. 1 (land in this process) or 2") from None
    if sum(_bytes(path) for _, path in waiting) < POOL_MIN_BYTES:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), feeds))


def land_waiting(home: Home, waiting: list[tuple[str, Path]], progress: FileProgress | None = None,
                 workers: int | None = None) -> tuple[list[LandingResult], float]:
    """Land `waiting` (feed, path) files; results in the same order, and the worker processes' peak
    memory in MB summed (0 when landed in this process; what a stage's own peak leaves out)."""
    tasks = [(index, feed, path, f"{index + 1}/{len(waiting)} {feed} {path.name}")
             for index, (feed, path) in enumerate(waiting)]
    workers = landing_workers(waiting) if workers is None else workers
    if workers <= 1:
        return [land_file(home, feed, path, progress=_telling(progress, label))
                for _, feed, path, label in tasks], 0.0
    return _land_in_pool(home, _by_feed(tasks), progress, workers, len(tasks))


def _by_feed(tasks: list[Task]) -> list[list[Task]]:
    """One group per feed, its files in order; the groups with the most bytes first (the pool takes
    them in that order, so the longest feed starts at once)."""
    groups: dict[str, list[Task]] = {}
    for task in tasks:
        groups.setdefault(task[1], []).append(task)
    return sorted(groups.values(), key=lambda group: -sum(_bytes(task[2]) for task in group))


def _land_in_pool(home: Home, groups: list[list[Task]], progress: FileProgress | None, workers: int,
                  count: int) -> tuple[list[LandingResult], float]:
    """Each worker is a `python -m connectors.landing_pool` process fed one feed's files at a time by
    a thread of this process (a child started by multiprocessing would import the caller's main
    script again, which a user's own script may not guard)."""
    todo: queue.Queue[list[Task]] = queue.Queue()
    for group in groups:
        todo.put(group)
    results: list[LandingResult | None] = [None] * count
    peaks: list[float] = []
    errors: list[BaseException] = []
    told = threading.Lock()

    def tell(label: str, stage: str, rows: int, fraction: float) -> None:
        if progress is not None:
            with told:
                progress(label, stage, rows, fraction)

    def feed_worker() -> None:
        try:
            peaks.append(_run_worker(home, todo, results, tell, errors))
        except BaseException as err:  # noqa: BLE001 — raised again in the caller's thread
            errors.append(err)

    threads = [threading.Thread(target=feed_worker, name=f"cwh-landing-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [result for result in results if result is not None], sum(peaks)


def _run_worker(home: Home, todo: queue.Queue, results: list, tell: FileProgress, errors: list) -> float:
    """Start one worker process and give it feeds until none is left (or another worker failed);
    returns its peak memory in MB."""
    worker = subprocess.Popen([sys.executable, "-m", "connectors.landing_pool", str(home.root)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    assert worker.stdin is not None and worker.stdout is not None
    peak = 0.0
    try:
        while not errors:
            try:
                group = todo.get_nowait()
            except queue.Empty:
                break
            worker.stdin.write(json.dumps([[i, feed, str(path), label] for i, feed, path, label in group]) + "\n")
            for line in worker.stdout:
                message = json.loads(line)
                if message["kind"] == "progress":
                    tell(*message["told"])
                elif message["kind"] == "landed":
                    results[message["index"]] = pickle.loads(bytes.fromhex(message["result"]))
                elif message["kind"] == "failed":
                    raise LandingWorkerError(message["error"])
                else:  # done: the group's files are landed
                    peak = message["peak_mb"]
                    break
            else:
                raise LandingWorkerError(f"the landing worker stopped (exit code {worker.wait()}) while "
                                         "landing a feed; what it left is swept by the next landing")
    finally:
        worker.stdin.close()
        worker.wait()
    return peak


class LandingWorkerError(RuntimeError):
    """A landing worker process failed: its message is the error it met."""


def _serve(root: Path) -> None:
    """The worker's side: one JSON list of files per line on stdin; each file's progress and result,
    then `done` with this process's peak memory, as JSON lines on stdout."""
    home = Home(root)
    out = os.fdopen(os.dup(1), "w")  # the messages' own channel; anything else printed goes to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(**message) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    for line in sys.stdin:
        for index, feed, path, label in json.loads(line):
            def told(stage: str, rows: int, fraction: float, label: str = label) -> None:
                send(kind="progress", told=[label, stage, rows, fraction])
            try:
                result = land_file(home, feed, Path(path), progress=told)
            except Exception as err:  # noqa: BLE001 — the parent raises it as the night's error
                send(kind="failed", error=f"{type(err).__name__}: {err} (landing {feed} {Path(path).name})")
                return
            send(kind="landed", index=index, result=pickle.dumps(result).hex())  # dates inside
        send(kind="done", peak_mb=peak_rss_mb())


def _bytes(path: Path) -> int:
    """A file's size; 0 for one gone since it was listed (its landing says what happened)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _telling(progress: FileProgress | None, label: str):
    if progress is None:
        return None
    return lambda stage, rows, fraction: progress(label, stage, rows, fraction)


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory in MB of this process (or of process `pid`, 0 when it cannot be read): its
    high-water mark (VmHWM, which the benchmark resets per stage), else, for this process, its peak
    since it started (ru_maxrss)."""
    try:
        status = Path(f"/proc/{pid or 'self'}/status").read_text()
    except OSError:
        status = ""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    if pid is not None:
        return 0.0
    import resource
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


if __name__ == "__main__":
    _serve(Path(sys.argv[1]))
