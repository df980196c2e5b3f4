"""The files a new user reads first: the README holds no placeholder (every CAPITALISED_NAME in it is
a name the code, the Makefile or the dbt profiles use: an environment variable, a make variable, a
metavar), the LICENSE is the license pyproject.toml declares, and the CHANGELOG follows Keep a
Changelog with a section for the version pyproject.toml carries."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b")
SOURCES = ("orchestration", "connectors", "dbt_project/profiles.yml", "dbt_project/macros", "Makefile")
CATEGORIES = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def project_text() -> str:
    texts = []
    for source in SOURCES:
        path = ROOT / source
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.suffix in (".py", ".sql", ".yml")]
        texts += [f.read_text(encoding="utf-8") for f in files]
    return "\n".join(texts).upper()


def test_every_capitalised_name_in_the_readme_is_a_real_one():
    names = set(NAME.findall((ROOT / "README.md").read_text(encoding="utf-8")))
    assert "CWH_HOME" in names  # the pattern finds what it should
    code = project_text()
    placeholders = sorted(name for name in names if name not in code)
    assert not placeholders, f"README placeholders or names nothing uses: {placeholders}"


def test_the_license_file_is_the_declared_license():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == {"text": "Apache-2.0"}
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text and len(text) > 10_000  # the whole text, not a stub


def test_the_changelog_keeps_a_changelog():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.M)
    assert releases[0] == ("Unreleased", "")
    assert (version, "2026-11-23") in releases
    assert set(re.findall(r"^### (.+)$", text, re.M)) <= CATEGORIES
