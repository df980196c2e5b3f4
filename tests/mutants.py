"""Mutation check: can the tests fail for the mistakes a developer could make? (`make mutants`)

Each mutation in tests/mutants.yml is a one-line change of the money, KPI, gate or publish logic
(Python or SQL): a file, its exact original text (found exactly once), the replacement, and the tests
that must then fail. The checkout is copied to a scratch folder once (the working tree as it is,
without .git, .venv or data); each mutation is applied there alone, its tests run with PYTHONPATH
and the dbt project of the copy, and the file is restored. A mutation is *killed* when a test fails,
*survived* when every test passes. /work/main itself is never touched.

    .venv/bin/python tests/mutants.py                 # every mutation (see README "Testing" for the time)
    .venv/bin/python tests/mutants.py --only fsync    # those whose name contains "fsync"
    .venv/bin/python tests/mutants.py --list          # the list, nothing run

Before the mutations, the tests they name run once on the unmutated copy (the baseline): a test
that already fails would "kill" every mutation and prove nothing. Exit status: 0 when every mutation
is killed and the baseline passes; 1 otherwise (a survivor, a failing baseline, or a mutation whose
original text is no longer found exactly once — the list must follow the code).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
MUTANTS = REPO / "tests" / "mutants.yml"
# never copied: history, environments, data, build outputs (the dbt manifest in target/ is kept:
# orchestration reads it)
SKIP = {".git", ".venv", "data", "__pycache__", ".pytest_cache", ".ruff_cache", "logs", "screenshots",
        "channel_contribution_warehouse.egg-info"}
TIMEOUT_SECONDS = 45 * 60  # per test run; a run that hangs this long counts as killed (reported)


@dataclass
class Mutant:
    name: str
    file: str
    original: str
    replacement: str
    tests: list[str]
    why: str = ""


def load(path: Path = MUTANTS) -> list[Mutant]:
    entries = yaml.safe_load(path.read_text())["mutants"]
    mutants = [Mutant(**entry) for entry in entries]
    names = [m.name for m in mutants]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SystemExit(f"{path}: mutation names must be unique: {sorted(duplicates)}")
    return mutants


def stale(mutant: Mutant, root: Path) -> str | None:
    """Why the mutation cannot be applied to the tree at `root` (None when it can)."""
    path = root / mutant.file
    if not path.exists():
        return f"{mutant.file} does not exist"
    found = path.read_text().count(mutant.original)
    if found != 1:
        return f"its original text is found {found} times in {mutant.file} (must be exactly once)"
    if mutant.original == mutant.replacement:
        return "the replacement equals the original"
    return None


def copy_tree(target: Path) -> None:
    shutil.copytree(REPO, target, symlinks=True, ignore=lambda _dir, names: [n for n in names if n in SKIP])


def run_tests(root: Path, tests: list[str], home: Path) -> tuple[bool, float, str]:
    """Run `tests` in the copy at `root` → (passed, seconds, the first failing test or the tail)."""
    env = {**os.environ, "PYTHONPATH": str(root), "CWH_HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    command = [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q", "-x",
               "-rfE", "--no-header", *tests]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return False, time.perf_counter() - started, f"timed out after {TIMEOUT_SECONDS} s"
    seconds = time.perf_counter() - started
    if done.returncode == 0:
        return True, seconds, ""
    # the short summary: "FAILED tests/x.py::test_y - AssertionError: …" (ERROR: a fixture failed, e.g.
    # the dbt build of an end-to-end test, whose message names the failing dbt test)
    failed = re.findall(r"^(?:FAILED|ERROR) (.+)$", done.stdout, re.MULTILINE)
    if failed:
        return False, seconds, failed[0][:300]
    tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
    return False, seconds, " | ".join(tail) or f"pytest exited {done.returncode}"


def _ordered(tests: list[str]) -> list[str]:
    """Fast tests first (unit, then orchestration, then end to end), so a kill comes early under -x."""
    return sorted(dict.fromkeys(tests), key=lambda t: (t.startswith("tests/e2e"), t.startswith("tests/ui"), t))


def check_copy_is_used(root: Path, home: Path) -> None:
    """The tests must import the copy's code and use its dbt project, or no mutation is observed."""
    env = {**os.environ, "PYTHONPATH": str(root), "CWH_HOME": str(home)}
    probe = "import connectors, orchestration.pipeline.dbt_sources as s; print(connectors.__file__); print(s.DBT_DIR)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    if not all(Path(p).resolve().is_relative_to(root.resolve()) for p in out):
        raise SystemExit(f"the copy's code is not the one imported ({out}): PYTHONPATH does not take precedence")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], help="run the mutations whose name contains this")
    parser.add_argument("--list", action="store_true", help="list the mutations and their tests, run nothing")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run of the tests")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy (its path is printed)")
    args = parser.parse_args(argv)

    mutants = [m for m in load() if not args.only or any(word in m.name for word in args.only)]
    if not mutants:
        print("no mutation matches", args.only)
        return 1
    if args.list:
        for m in mutants:
            print(f"{m.name}: {m.file}: {m.original.strip()!r} -> {m.replacement.strip()!r}\n"
                  f"    tests: {' '.join(m.tests)}")
        return 0

    scratch = Path(tempfile.mkdtemp(prefix="cwh-mutants-"))
    root, home = scratch / "checkout", scratch / "home"
    started = time.perf_counter()
    try:
        copy_tree(root)
        home.mkdir()
        check_copy_is_used(root, home)
        print(f"copy of {REPO} in {root}; {len(mutants)} mutation(s)", flush=True)
        problems = {m.name: why for m in mutants if (why := stale(m, root))}
        for name, why in problems.items():
            print(f"STALE     {name}: {why}", flush=True)

        baseline_failed = False
        if not args.no_baseline:
            tests = _ordered([t for m in mutants if m.name not in problems for t in m.tests])
            passed, seconds, detail = run_tests(root, tests, home)
            print(f"{'baseline passes' if passed else 'BASELINE FAILS'} ({seconds:.0f} s, {len(tests)} test paths)"
                  + ("" if passed else f": {detail}"), flush=True)
            baseline_failed = not passed

        results = []
        for m in mutants:
            if m.name in problems:
                continue
            path = root / m.file
            original = path.read_text()
            path.write_text(original.replace(m.original, m.replacement, 1))
            try:
                passed, seconds, detail = run_tests(root, _ordered(m.tests), home)
            finally:
                path.write_text(original)
            status = "SURVIVED" if passed else "killed"
            results.append((m, status, seconds, detail))
            print(f"{status:9} {m.name} ({seconds:.0f} s){'' if passed else f' by {detail}'}", flush=True)

        survivors = [m.name for m, status, _, _ in results if status == "SURVIVED"]
        killed = len(results) - len(survivors)
        print(f"\n{killed} killed, {len(survivors)} survived, {len(problems)} stale, of {len(mutants)}; "
              f"{time.perf_counter() - started:.0f} s in all")
        for m, status, _, _ in results:
            if status == "SURVIVED":
                print(f"  survived: {m.name} — {m.why} ({m.file}; tests: {' '.join(m.tests)})")
        return 1 if survivors or problems or baseline_failed else 0
    finally:
        if args.keep:
            print(f"scratch copy kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
