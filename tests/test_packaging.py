"""The distribution: what `pip install .` ships, and that the locks pin what pyproject.toml asks for.

The wheel is built offline with the locked build backend (hatchling, in the dev extra). What it must
hold is derived from dbt's own project file (the folders dbt reads) and from the source folders, not
from the build configuration; an installed copy must then find the packaged dbt project and contracts
rather than a checkout's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
PACKAGED = "connectors/_project"  # where the wheel puts the project's files (connectors.home)
DBT_READ_FOLDERS = {"model-paths": ["models"], "macro-paths": ["macros"], "seed-paths": ["seeds"],  # dbt's defaults
                    "test-paths": ["tests"], "analysis-paths": ["analyses"], "snapshot-paths": ["snapshots"]}
DBT_OUTPUT_FOLDERS = {"target", "logs", "dbt_packages"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir",
                    "--quiet", "--disable-pip-version-check", "--wheel-dir", str(out), str(REPO)], check=True)
    (built,) = out.glob("*.whl")
    return built


def shipped_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if not name.endswith("/")}


def files_under(folder: Path) -> set[str]:
    return {path.relative_to(REPO).as_posix() for path in folder.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}


def dbt_project_files() -> set[str]:
    """dbt_project.yml, profiles.yml and every file in the folders dbt_project.yml tells dbt to read."""
    project = REPO / "dbt_project"
    config = yaml.safe_load((project / "dbt_project.yml").read_text())
    folders = {folder for key, default in DBT_READ_FOLDERS.items() for folder in config.get(key, default)}
    files = {"dbt_project/dbt_project.yml", "dbt_project/profiles.yml"}
    for folder in folders:
        files |= files_under(project / folder)
    return files


def test_the_wheel_ships_the_code_the_dbt_project_and_the_contracts(wheel):
    shipped = shipped_files(wheel)
    code = files_under(REPO / "connectors") | files_under(REPO / "orchestration")
    assert code - shipped == set()
    assert any(name.endswith(".py") for name in code)  # the walk found the packages

    project_files = dbt_project_files() | files_under(REPO / "data_contracts")
    assert len([name for name in project_files if name.startswith("data_contracts/")]) >= 10
    assert any(name.startswith("dbt_project/models/marts/") for name in project_files)
    assert {f"{PACKAGED}/{name}" for name in project_files} - shipped == set()


def test_the_wheel_leaves_out_what_dbt_writes(wheel):
    in_project = [name.removeprefix(f"{PACKAGED}/dbt_project/") for name in shipped_files(wheel)
                  if name.startswith(f"{PACKAGED}/dbt_project/")]
    assert in_project
    assert [name for name in in_project if name.split("/")[0] in DBT_OUTPUT_FOLDERS or name == ".user.yml"] == []


def test_the_wheel_declares_the_cwh_command_and_the_report_and_export_dependencies(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        requires = [line.split(":", 1)[1].strip() for line in archive.read(metadata).decode().splitlines()
                    if line.startswith("Requires-Dist:")]
        (entry_points,) = [name for name in archive.namelist() if name.endswith(".dist-info/entry_points.txt")]
        assert re.search(r"^cwh = ", archive.read(entry_points).decode(), re.M)
    runtime = {Requirement(line).name.lower() for line in requires if "extra ==" not in line}
    assert {"plotly", "xlsxwriter", "dbt-duckdb", "duckdb"} <= runtime


def test_an_installed_copy_reads_its_packaged_project_and_contracts(wheel, tmp_path):
    """Unpacked like an install into site-packages; the checkout is not on the path first, so a copy
    that looked next to its code for ../dbt_project would fail to load its connectors."""
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    probe = (
        "import json, connectors.home as home, connectors.registry\n"
        "from connectors.contracts import load_contracts\n"
        "print(json.dumps({'module': home.__file__, 'dbt': str(home.DBT_DIR), 'seeds': str(home.SEEDS_DIR),"
        " 'contracts': sorted(load_contracts())}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site), "CWH_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert Path(found["module"]).is_relative_to(site)
    assert Path(found["dbt"]).is_relative_to(site) and (Path(found["dbt"]) / "dbt_project.yml").is_file()
    assert (Path(found["seeds"]) / "channels.csv").is_file()
    assert found["contracts"] == sorted(path.stem for path in (REPO / "data_contracts").glob("*.yml"))


# --- the locks: compiled from pyproject.toml (`make lock`, `make lock-spark`) ---

def pins(lock: Path) -> dict[str, str]:
    lines = (line.split("==") for line in lock.read_text().splitlines() if re.match(r"[A-Za-z0-9]", line))
    return {canonical(name): version.strip() for name, version in lines}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def unmet(requirements: list[str], pinned: dict[str, str]) -> list[str]:
    missing = []
    for text in requirements:
        requirement = Requirement(text)
        version = pinned.get(canonical(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            missing.append(f"{text} (locked: {version})")
    return missing


def test_the_locks_pin_every_requirement_of_pyproject_within_its_range():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    main, spark = pins(REPO / "requirements.lock"), pins(REPO / "requirements-spark.lock")
    assert unmet(project["dependencies"] + project["optional-dependencies"]["dev"], main) == []
    assert unmet(project["dependencies"] + project["optional-dependencies"]["spark"], spark) == []
    # installed on top of requirements.lock: the packages both hold keep the main pins
    assert {name: (version, main[name]) for name, version in spark.items()
            if name in main and main[name] != version} == {}
