"""No traceback, ever: every `cwh` command (enumerated from the Typer app, so a new one is covered
the day it is added) given a bad date, month, week or feed name, a missing file, or an empty home,
answers with a clear message and an exit code, never an uncaught exception. Plus the feed-name
suggestion, the no-data message of a month the warehouse does not cover, and the date `cwh status`
judges by default."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime

import duckdb
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from connectors.facts import FACTS
from connectors.home import published_database
from orchestration.cli import app, options
from orchestration.pipeline.ops.alerts import record_run
from orchestration.pipeline.ops.status import last_run
from tests.orchestration.demo_lake import LOGICAL

runner = CliRunner()

BAD_VALUES = {  # parser → values a person types by mistake, and what the message must show
    options.parse_date: (["2026/11/01", "tomorrow", "2026-02-30", "01-11-2026"], "expected YYYY-MM-DD"),
    options.parse_month: (["2026-13", "2026/10", "October", "2026-1"], "expected YYYY-MM"),
    options.parse_feed: (["shopfy", "nope"], "unknown feed"),
}
# a parameter named like one of these holds a date, a month, a week or a feed
CHECKED_NAME = re.compile(r"(^|_)(date|day|month|week|since|until|end|as_of|feed)s?($|_)")
# commands that do real work on a well-formed empty call (generate, build, benchmark): their bad
# arguments are checked here, their work by their own tests
WORKERS = {"demo", "build", "bench"}


def _commands() -> dict[str, object]:
    """'name' (or 'group name') → the command, for every command of the app."""
    found = {}

    def walk(command, path):
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
        if path and not subcommands:
            found[" ".join(path)] = command
    walk(get_command(app), [])
    return found


COMMANDS = _commands()


def _parser(param):
    return getattr(param.type_descriptor.parameter_info, "parser", None)


def _required_args(command, bad=(None, None)) -> list[str]:
    """Well-formed values for the command's required arguments (a feed that exists, a file name),
    with `bad` = (argument, value) in its place."""
    args = []
    for param in command.params:
        if param.param_type_name != "argument":
            continue
        if param is bad[0]:
            args.append(bad[1])
        elif param.required:
            args.append("shopify_orders" if _parser(param) is options.parse_feed else "file.csv")
    return args


def _plain(output: str) -> str:
    """The output without rich's box drawing and line wrapping, to read a message as one line."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


def _assert_handled(result, command: str) -> None:
    assert "Traceback" not in result.output, f"cwh {command}:\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"cwh {command} raised {result.exception!r}:\n{result.output}")


def test_the_app_has_the_commands_this_file_was_written_for():
    assert {"run", "status", "pnl", "report", "export", "digest", "feeds", "quarantine", "ingest",
            "unland", "build", "demo"} <= {name.split()[-1] for name in COMMANDS}


def test_every_date_month_week_and_feed_parameter_is_checked_by_the_shared_parsers():
    """A new --date that is a plain str would print a traceback on 2026/11/01: held here."""
    unchecked = []
    for name, command in COMMANDS.items():
        for param in command.params:
            if param.type_descriptor.annotation in (bool, int, float):  # flags, counts (--days)
                continue
            if not CHECKED_NAME.search(param.name):
                continue
            is_fact = name.split()[-1] == "ingest" and param.name in FACTS  # checked by connectors.facts
            if _parser(param) not in BAD_VALUES and not is_fact:
                unchecked.append(f"cwh {name} {param.opts[0]}")
    assert not unchecked, f"not checked by orchestration/cli/options.py: {unchecked}"


def _bad_argument_cases():
    for name, command in COMMANDS.items():
        for param in command.params:
            parser = _parser(param)
            if parser in BAD_VALUES:
                for value in BAD_VALUES[parser][0]:
                    yield pytest.param(name, param.name, value, id=f"{name}-{param.name}-{value}")


@pytest.mark.parametrize(("name", "param_name", "value"), list(_bad_argument_cases()))
def test_a_bad_date_month_week_or_feed_is_one_clear_line_and_exit_code_2(home, name, param_name, value):
    command = COMMANDS[name]
    param = next(p for p in command.params if p.name == param_name)
    if param.param_type_name == "argument":
        args = _required_args(command, bad=(param, value))
    else:
        args = [*_required_args(command), param.opts[0], value]
    result = runner.invoke(app, [*name.split(), *args])
    _assert_handled(result, f"{name} {args}")
    assert result.exit_code == 2, result.output
    message = _plain(result.output)
    assert repr(value) in message and BAD_VALUES[_parser(param)][1] in message, message
    assert not (home.root / "warehouse").exists() and not (home.root / "lake").exists()  # no work began


def test_the_ingest_date_fact_is_checked_too(home, tmp_path):
    snapshot = tmp_path / "inventory.csv"
    snapshot.write_text("sku,location,on_hand\nA,main,3\n")
    result = runner.invoke(app, ["ingest", "inventory_snapshots", str(snapshot), "--date", "2026/11/01"])
    _assert_handled(result, "ingest --date")
    assert result.exit_code == 2 and "YYYY-MM-DD" in _plain(result.output)


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - WORKERS))
def test_every_command_on_an_empty_home_answers_without_a_traceback(home, name):
    """No lake, no warehouse, nothing published: each command says what there is (nothing) or what
    to do first; none crashes."""
    command = COMMANDS[name]
    args = {"ingest": ["--all"]}.get(name, _required_args(command))
    result = runner.invoke(app, [*name.split(), *args], input="")
    _assert_handled(result, name)
    assert result.output.strip(), f"cwh {name} said nothing"


@pytest.mark.parametrize("args", [["pnl"], ["report"], ["digest"], ["export", "-f", "csv"], ["docs"],
                                  ["sql", "-c", "select 1"]])
def test_a_command_that_reads_the_warehouse_says_to_run_first_on_an_empty_home(home, args):
    result = runner.invoke(app, args)
    _assert_handled(result, args[0])
    assert result.exit_code == 1
    assert "cwh run" in result.output


def test_a_missing_file_is_named(home, tmp_path):
    missing = tmp_path / "orders_0801.csv"
    result = runner.invoke(app, ["ingest", "shopify_orders", str(missing)])
    _assert_handled(result, "ingest")
    assert result.exit_code == 2 and "no such file" in _plain(result.output)
    # the path is long enough for rich's 80-column box to break it anywhere: compare without spaces
    assert "orders_0801.csv" in _plain(result.output).replace(" ", "")


def test_unknown_feeds_suggest_the_nearest_one(home):
    assert "did you mean shopify_orders" in options.suggest("shopfy", ["shopify_orders", "meta_ads"])
    for args in (["feeds", "shopfy"], ["quarantine", "shopfy"], ["ingest", "shopfy", "x.csv"],
                 ["unland", "shopfy", "x.csv"]):
        result = runner.invoke(app, args)
        message = _plain(result.output)
        assert result.exit_code == 2, message
        assert "unknown feed 'shopfy'" in message and "shopify_orders" in message, message
    feeds = runner.invoke(app, ["quarantine", "amazon_setlements"])
    assert "did you mean amazon_settlements" in _plain(feeds.output)


def test_files_in_a_folder_that_is_no_feeds_are_named_with_the_nearest_feed(home):
    stray = home.root / "landing" / "shopify"
    stray.mkdir(parents=True)
    (stray / "orders_export_1.csv").write_text("Name\n#1001\n")
    result = runner.invoke(app, ["ingest", "--all"])
    _assert_handled(result, "ingest --all")
    message = _plain(result.output)
    assert "landing/shopify/ is no feed's folder: its 1 file(s) are not landed; did you mean shopify_orders" in message
    assert "nothing to land" in message


def test_the_real_entry_point_prints_no_traceback(home):
    """The installed `cwh` prints rich's pretty tracebacks on an uncaught exception: none here."""
    result = subprocess.run([sys.executable, "-m", "orchestration.cli", "status", "--date", "2026/11/01"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert "'2026/11/01' is not a date: expected YYYY-MM-DD, e.g. 2026-11-01" in _plain(result.stderr)


@pytest.fixture
def covered_home(home):
    """A published warehouse whose channel P&L covers 2026-07 … 2026-10 (two channels a month)."""
    path = published_database(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.channel_pnl_monthly (month date, channel varchar, net_revenue double)")
        for month in (7, 8, 9, 10):
            for channel in ("shopify_web", "amazon_us"):
                con.execute("insert into marts.channel_pnl_monthly values (?, ?, 100)", [date(2026, month, 1), channel])
    return home


@pytest.mark.parametrize("command", [["pnl"], ["report"], ["export", "-f", "csv"]])
def test_a_month_without_data_says_which_months_the_warehouse_covers(covered_home, command):
    result = runner.invoke(app, [*command, "--month", "2025-01"])
    _assert_handled(result, command[0])
    assert result.exit_code == 1
    assert "no data for 2025-01; the warehouse covers 2026-07 … 2026-10" in result.output
    assert not (covered_home.root / "outputs").exists()  # no blank report, no header-only files
    assert options.months_covered(published_database(covered_home)) == [date(2026, m, 1) for m in (7, 8, 9, 10)]


def test_a_warehouse_without_a_pnl_says_there_is_no_data_yet(home):
    path = published_database(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(path)).close()  # a file with no marts at all
    for command in (["pnl"], ["report"], ["digest"], ["export", "-f", "csv"]):
        result = runner.invoke(app, command)
        _assert_handled(result, command[0])
        assert result.exit_code == 1 and "no data in the warehouse yet" in result.output, result.output


def test_a_week_without_data_says_so(covered_home):
    result = runner.invoke(app, ["digest", "--week", "2025-01-08"])
    _assert_handled(result, "digest")
    assert result.exit_code == 1
    assert "no data for the week of 2025-01-06; the warehouse covers 2026-07 … 2026-10" in result.output
    assert not (covered_home.root / "outputs").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["export", "-f", "docx"], "'docx' is not an export format: one of csv, parquet, xlsx"),
    (["quarantine", "--limit", "0"], "greater than or equal to 1"),
    (["demo", "--days", "0"], "greater than or equal to 1"),
    (["run", "--wait", "-1"], "greater than or equal to 0"),
    (["run", "--date", "2026-11-01", "--since", "2026-12-01"], "--since 2026-12-01 is not before the logical date"),
])
def test_other_bad_values_are_refused_before_work_starts(home, args, message):
    result = runner.invoke(app, args)
    _assert_handled(result, args[0])
    assert result.exit_code == 2 and message in _plain(result.output)
    assert sorted(p.name for p in home.root.iterdir()) == []  # nothing written


def test_an_unexpected_error_is_a_few_lines_and_its_traceback_a_file(home, monkeypatch):
    def broken(*_args, **_kwargs):
        raise ValueError("boom")

    monkeypatch.setattr("orchestration.pipeline.ops.status.feed_sla_status", broken)
    result = runner.invoke(app, ["status"])
    _assert_handled(result, "status")
    assert result.exit_code == 1
    message = _plain(result.output)
    assert "cwh status failed: ValueError: boom" in message and "please report it" in message
    saved = list((home.root / "ops" / "errors").glob("cwh-error-*.txt"))
    assert len(saved) == 1 and str(saved[0]) in message
    assert "Traceback" in saved[0].read_text() and "boom" in saved[0].read_text()


def test_a_file_system_error_names_the_path(home, monkeypatch):
    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device", "/mnt/full/readback.html")

    monkeypatch.setattr("orchestration.pipeline.ops.status.feed_sla_status", disk_full)
    result = runner.invoke(app, ["status"])
    _assert_handled(result, "status")
    assert result.exit_code == 1
    assert "cwh status: No space left on device (/mnt/full/readback.html)" in _plain(result.output)


def test_cwh_debug_shows_the_exception_to_a_developer(home, monkeypatch):
    monkeypatch.setenv("CWH_DEBUG", "1")
    monkeypatch.setattr("orchestration.pipeline.ops.status.feed_sla_status",
                        lambda *_a, **_k: (_ for _ in ()).throw(ValueError("boom")))
    assert isinstance(runner.invoke(app, ["status"]).exception, ValueError)


def _ok_checks(feeds):
    from tests.orchestration.test_alerts_status import Check

    return [Check(feed, "freshness", "ok", True) for feed in feeds]


def test_status_judges_as_of_the_latest_runs_logical_date_and_says_so(lake, monkeypatch):
    """Right after the night of 2026-11-01 (the demo's), whatever today is: every feed that landed
    through 2026-10-31 is ok, not late by today's clock; --date still judges another day."""
    from connectors.registry import FEEDS

    monkeypatch.setenv("CWH_HOME", str(lake.root))
    assert last_run(lake) is None
    record_run(lake, run_id="night-1101", logical_date=LOGICAL, checks=_ok_checks(FEEDS))
    record_run(lake, run_id="backfill-1020", logical_date=date(2026, 10, 20), checks=_ok_checks(FEEDS))
    assert last_run(lake) == (LOGICAL, "night-1101")  # a later backfill of an earlier day does not move it

    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert "judged as of 2026-11-01 (the logical date of the latest run, night-1101" in _plain(result.output)
    states = dict(re.findall(r"│ (\w+)\s+│ (ok|late|failing)\s", result.output))
    assert states["shopify_orders"] == "ok" and states["meta_ads"] == "ok", result.output

    later = runner.invoke(app, ["status", "--date", "2026-12-15"])
    assert "judged as of 2026-12-15 (as given)" in _plain(later.output)
    assert dict(re.findall(r"│ (\w+)\s+│ (ok|late|failing)\s", later.output))["shopify_orders"] == "late"


def test_status_before_any_run_uses_today_and_says_so(home):
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0
    assert f"judged as of {datetime.now(UTC).date()} (today (UTC): no run recorded yet)" in _plain(result.output)
