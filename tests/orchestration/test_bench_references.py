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
    assert got == {"failed": "bench child pandas failed (killed: most likely out of memory):"}


def test_the_agreement_keeps_the_references_that_ran():
    month = pd.DataFrame({"channel": ["web"], "month": ["2026-10-01"],
                          **{line: [1.25] for line in runner.PNL_LINES}})
    off = month.assign(net_revenue=[1.26])
    agreement = runner._agreement({"pipeline": month, "lower_bound": off}, mart_missing=False)
    assert set(agreement) == {"lower_bound"} and agreement["lower_bound"]["max_diff_cents"] == 1
    assert runner._agreement({"pipeline": month}, mart_missing=False) == {}
    assert runner._agreement({"pipeline": None, "pandas": month}, mart_missing=True) == {"pipeline_mart_missing": True}
