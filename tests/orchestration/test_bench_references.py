"""The bench's reference P&Ls (orchestration/bench/runner.py): a reference child that dies — the
pandas notebook at 10M lines may not fit in memory — is recorded with why instead of losing the size's
figures, and the agreement keeps the references that ran."""

import pandas as pd

from orchestration.bench import runner


def test_a_killed_child_is_recorded_with_why(monkeypatch, tmp_path):
    def killed(cmd, **kwargs):  # what subprocess.run returns when the OOM killer ends the child
        return type("Done", (), {"returncode": -9, "stdout": "", "stderr": "Killed"})()

    monkeypatch.setattr(runner.subprocess, "run", killed)
    got = runner.reference_run("pandas", tmp_path / "landing", tmp_path / "out.parquet", tmp_path / "home")
    assert got == {"failed": "bench child pandas failed (killed: most likely out of memory): Killed"}


def test_the_agreement_keeps_the_references_that_ran():
    month = pd.DataFrame({"channel": ["web"], "month": ["2026-10-01"],
                          **{line: [1.25] for line in runner.PNL_LINES}})
    off = month.assign(net_revenue=[1.26])
    agreement = runner._agreement({"pipeline": month, "lower_bound": off}, mart_missing=False)
    assert set(agreement) == {"lower_bound"} and agreement["lower_bound"]["max_diff_cents"] == 1
    assert runner._agreement({"pipeline": month}, mart_missing=False) == {}
    assert runner._agreement({"pipeline": None, "pandas": month}, mart_missing=True) == {"pipeline_mart_missing": True}


def test_the_pandas_child_fails_alone_when_out_of_memory(monkeypatch, tmp_path):
    """The notebook's child caps its own memory (a share of RAM), so at 10M lines it raises
    MemoryError itself and is recorded as out of memory, never taking another process with it."""
    caps = []
    monkeypatch.setattr(runner.resource, "setrlimit", lambda what, limits: caps.append((what, limits)))
    limit = runner.cap_address_space(0.5)
    ram = runner.os.sysconf("SC_PAGE_SIZE") * runner.os.sysconf("SC_PHYS_PAGES")
    assert caps == [(runner.resource.RLIMIT_AS, (limit, limit))] and abs(limit - ram / 2) <= 1

    def out_of_memory(cmd, **kwargs):
        return type("Done", (), {"returncode": 1, "stdout": "", "stderr": "...\nMemoryError: Unable to allocate"})()

    monkeypatch.setattr(runner.subprocess, "run", out_of_memory)
    got = runner.reference_run("pandas", tmp_path / "landing", tmp_path / "out.parquet", tmp_path / "home")
    assert got == {"failed": "bench child pandas failed (out of memory): MemoryError: Unable to allocate"}


def test_a_child_that_fails_otherwise_says_why_on_the_line_recorded(monkeypatch, tmp_path):
    """A reference child that exits 1 (DuckDB's spill filled the disk) is recorded with its last line,
    not only its status; one that says nothing is recorded as such."""
    def disk_full(cmd, **kwargs):
        return type("Done", (), {"returncode": 1, "stdout": "", "stderr": (
            "Traceback (most recent call last):\n  ...\n"
            "duckdb.duckdb.IOException: IO Error: Could not write file: No space left on device\n\n")})()

    monkeypatch.setattr(runner.subprocess, "run", disk_full)
    got = runner.reference_run("lower_bound", tmp_path / "landing", tmp_path / "out.parquet", tmp_path / "home")
    assert got == {"failed": "bench child lower_bound failed (exit 1): duckdb.duckdb.IOException: IO Error: "
                             "Could not write file: No space left on device"}

    monkeypatch.setattr(runner.subprocess, "run",
                        lambda cmd, **kwargs: type("Done", (), {"returncode": 1, "stdout": "", "stderr": ""})())
    got = runner.reference_run("pandas", tmp_path / "landing", tmp_path / "out.parquet", tmp_path / "home")
    assert got == {"failed": "bench child pandas failed (exit 1): no message"}
