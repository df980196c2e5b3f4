"""Great Expectations in a helper process, so that a night does not wait for GE's import.

Importing GE and building its context takes 3–5 s of one core: more than validating a night's new
files, and most of an incremental night's checks stage, while the machine's other core sat idle. A
night therefore starts this helper as early as it can (`prestart`, called by `cwh run` and the
benchmark before the night's own imports; else when landing finds files waiting). The helper imports
GE on the idle core while the night imports, lands and starts its gates; once landing is over the
night names the feeds to validate (`SuiteWorker.validate`), the helper validates every file of them
that has no result yet and writes each result where the gate reads it (`lake/expectations/…`,
expectations.file_results), and the gate, after waiting for it, reads results, not rows.

The helper only saves time. When it is switched off (`CWH_SUITE_WORKER=0`), GE is already loaded in
this process (a test session, a second night in one process), or it fails, the gate validates in its
own process exactly as before: the same files, the same results. Its frames die with it, so the
night's process no longer holds them under dbt's buffer pool either.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SWITCH_ENV = "CWH_SUITE_WORKER"  # "0": validate in the night's own process


@dataclass
class WorkerSummary:
    """What the helper did: the files it validated and its peak memory."""

    files_validated: int
    peak_rss_mb: float


class SuiteWorkerError(RuntimeError):
    """The helper did not validate the files (it failed or stopped): the gate validates them itself."""


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def ge_loaded_here() -> bool:
    """GE's context is already built in this process: validating here costs nothing to start."""
    module = sys.modules.get("orchestration.pipeline.gates.expectations")
    return module is not None and getattr(module, "_GE", None) is not None


class SuiteWorker:
    """The helper process: started at once (it imports GE), given feeds once, then waited for."""

    def __init__(self) -> None:
        self._process = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._asked = False

    def validate(self, root: Path, feeds: list[str]) -> None:
        """Name the feeds whose lake files the helper validates (once; then it works on its own)."""
        assert self._process.stdin is not None
        if self._asked:
            raise RuntimeError("a suite worker validates one list of feeds")
        self._asked = True
        try:
            self._process.stdin.write(json.dumps({"root": str(root), "feeds": feeds}) + "\n")
            self._process.stdin.flush()  # the line is all it reads; wait() closes the pipe
        except (BrokenPipeError, OSError):  # it already stopped: wait() says why
            pass

    def wait(self) -> WorkerSummary:
        """Wait until the helper has written every result; SuiteWorkerError if it did not."""
        if not self._asked:
            self.stop()
            raise SuiteWorkerError("the suite worker was given no feeds")
        out, err = self._process.communicate()
        lines = [line for line in out.splitlines() if line.startswith("{")]
        message = json.loads(lines[-1]) if lines else {}
        if self._process.returncode != 0 or "files_validated" not in message:
            reason = message.get("error") or (err.strip().splitlines() or ["no message"])[-1]
            raise SuiteWorkerError(f"the suite worker stopped (exit code {self._process.returncode}): {reason}")
        return WorkerSummary(message["files_validated"], message["peak_rss_mb"])

    def peak_rss_mb(self) -> float:
        """The helper's peak memory so far (what it held beside the landing: GE imported, or part of it)."""
        try:
            return _rss_mb("VmHWM:", Path(f"/proc/{self._process.pid}/status"))
        except OSError:  # it ended: its summary says its peak
            return 0.0

    def stop(self) -> None:
        """End the helper without waiting for its work (a night that stopped before its gates)."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()


_prestarted: SuiteWorker | None = None


def prestart() -> None:
    """Start the helper now, before this process's own imports (a night adopts it with `take`)."""
    global _prestarted
    if _prestarted is None and enabled():
        _prestarted = SuiteWorker()


def take(files_waiting: bool) -> SuiteWorker | None:
    """The night's helper: the prestarted one, else a new one when files wait to land; None when GE is
    already loaded here or the helper is switched off (the gate then validates in this process)."""
    global _prestarted
    worker, _prestarted = _prestarted, None
    if not enabled() or ge_loaded_here():
        if worker is not None:
            worker.stop()
        return None
    return worker or (SuiteWorker() if files_waiting else None)


# ---- the helper's side ----------------------------------------------------------------------------
def _rss_mb(field: str, status: Path = Path("/proc/self/status")) -> float:
    for line in status.read_text().splitlines():
        if line.startswith(field):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _serve() -> int:
    """Import GE, read one request {root, feeds} from stdin, validate the feeds' files that have no
    result yet (writing each result to the cache), then print a summary as one JSON line."""
    from connectors.contracts import get_contract, load_contracts
    from connectors.home import Home
    from orchestration.pipeline.gates.expectations import file_results, lake_files, load_suite_engine

    load_suite_engine(load_contracts().values())  # every suite built before the files are named
    line = sys.stdin.readline()
    if not line.strip():  # the night stopped before its gates (or never needed them)
        return 0
    request = json.loads(line)
    home = Home(Path(request["root"]))
    validated = 0
    for feed in request["feeds"]:
        results = file_results(home, get_contract(feed), lake_files(home, feed))
        validated += sum(not from_cache for _, from_cache in results.values())
    print(json.dumps({"files_validated": validated, "peak_rss_mb": _rss_mb("VmHWM:")}))
    return 0


def _keep_spark_out() -> None:
    """GE imports pyspark when it is installed (the `spark` extra: `make test-spark`, the Spark path),
    ~0.7 s of the helper's import, for a Spark datasource the helper never uses; GE goes without it
    when the import fails, which a None in sys.modules makes it do (in this process only)."""
    sys.modules.setdefault("pyspark", None)  # type: ignore[assignment]


if __name__ == "__main__":
    _keep_spark_out()
    try:
        status = _serve()
    except Exception as err:  # noqa: BLE001 — said to the night, which validates in its own process
        print(json.dumps({"error": f"{type(err).__name__}: {err}"}))
        status = 1
    sys.stdout.flush()
    os._exit(status)  # no teardown of GE's and pandas' heaps (orchestration/quick_exit.py)
