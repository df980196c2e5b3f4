"""The files a new user reads first: the README holds no placeholder (every CAPITALISED_NAME in it is
a name the code, the Makefile or the dbt profiles use: an environment variable, a make variable, a
metavar), every mart is in its marts table and every dbt var a brand sets in its settings table, the
LICENSE is the license pyproject.toml declares, and the CHANGELOG follows Keep a Changelog with a
section for the version pyproject.toml carries."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

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


def readme_section(heading: str) -> str:
    """The README's text under `heading` (a line as written, e.g. '### Settings') up to the next heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    following = re.search(r"^#{2,3} ", text[start + len(heading) + 2:], re.M)
    return text[start:start + len(heading) + 2 + (following.start() if following else len(text))]


def table_names(section: str) -> set[str]:
    """The backticked names of a Markdown table's first column; `a_daily` / `_weekly` reads as a_weekly."""
    names = set()
    for row in re.findall(r"^\| ([^|]*)\|", section, re.M):
        tokens = re.findall(r"`([^`]+)`", row)
        base = tokens[0].rsplit("_", 1)[0] if tokens else ""
        names |= {base + token if token.startswith("_") else token for token in tokens}
    return names


def test_every_mart_is_in_the_readme_marts_table():
    """Marts are the API: a new one is listed with its grain and the question it answers."""
    marts = {path.stem for path in (ROOT / "dbt_project" / "models" / "marts").rglob("*.sql")}
    listed = table_names(readme_section("## For analysts and finance"))
    assert {"channel_pnl_weekly", "channel_readback_weekly", "price_elasticity"} <= listed  # the shorthand read
    assert not marts - listed, f"marts missing from the README's table: {sorted(marts - listed)}"


def test_every_dbt_var_a_brand_sets_is_in_the_readme_settings_table():
    """A var the night does not pass itself (orchestration/pipeline: min_date, max_date, landed_after)
    is the brand's setting: it is in the one settings table."""
    project = yaml.safe_load((ROOT / "dbt_project" / "dbt_project.yml").read_text(encoding="utf-8"))
    pipeline = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "orchestration" / "pipeline").rglob("*.py"))
    settings = set(project["vars"]) - {var for var in project["vars"] if f'"{var}"' in pipeline}
    assert "reporting_currency" in settings and "min_date" not in settings
    listed = table_names(readme_section("### Settings"))  # `…_tolerance_units`, `_pct` read as both
    missing = sorted(var for var in settings if var not in listed)
    assert not missing, f"dbt vars missing from the README's settings table: {missing}"


def test_the_duckdb_memory_limit_has_one_default_in_python_and_the_dbt_profile():
    """The dbt build (profiles.yml) and publish (connectors.home.duckdb_memory_limit) cap DuckDB's
    buffer pool with the same setting and default."""
    from connectors.home import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_ENV

    profile = (ROOT / "dbt_project" / "profiles.yml").read_text(encoding="utf-8")
    assert f"memory_limit: \"{{{{ env_var('{MEMORY_LIMIT_ENV}', '{DEFAULT_MEMORY_LIMIT}') }}}}\"" in profile
    # given once, when dbt opens the database: as `settings`, dbt-duckdb SETs it on every node's cursor
    duckdb_target = yaml.safe_load(profile)["cwh"]["outputs"]["duckdb"]
    assert "memory_limit" in duckdb_target["config_options"]
    assert "memory_limit" not in (duckdb_target.get("settings") or {})
