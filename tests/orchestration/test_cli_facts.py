"""Facts a file does not state (`cwh ingest --currency/--channel/--date/--location`): every command a
message prints works exactly as printed, and a wrong fact never lands."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.contracts import load_contracts
from connectors.facts import FACTS, READING_FACTS, FactError, check_facts
from connectors.iso4217 import ACTIVE_CURRENCIES
from connectors.lake import Home, ledger_records, rejections
from connectors.registry import FEEDS
from orchestration.cli import app

runner = CliRunner()

# one small file per feed whose layouts take facts, written from the vendors' documented layouts and
# stating none of the facts: the GA4 "Sessions" export (Day, Sessions), our stock template without
# date and location, and the ad platforms' UI exports without a currency column or symbol
FIXTURES = {
    "sessions": ("ga4_sessions.csv", "Day,Sessions\n2026-10-01,120\n2026-10-02,95\n"),
    "inventory_snapshots": ("stock.csv", "sku,on_hand,sellable,inbound\nSKU-1,10,8,2\nSKU-2,3,3,0\n"),
    "google_ads": ("Campaign report.csv", "Day,Campaign ID,Campaign,Cost,Impr.,Clicks,Conversions,Conv. value\n"
                   "2026-10-01,111,Brand search,12.34,100,5,1,50.00\n2026-10-02,111,Brand search,10.00,90,4,0,0.00\n"),
    "meta_ads": ("meta.csv", "Day,Campaign ID,Campaign name,Ad set name,Ad name,Amount spent,Impressions,Link clicks\n"
                 "2026-10-01,222,Prospecting,Broad,Video 1,20.50,1000,12\n"),
    "pinterest_ads": ("pinterest.csv", "Date,Campaign ID,Campaign name,Ad group name,Ad name,"
                      "Spend in account currency,Impressions,Outbound clicks\n"
                      "2026-10-01,333,Pins,Group,Pin 1,5.25,400,3\n"),
    "amazon_ads": ("sp_campaigns.csv", "Date,Campaign Name,Spend,Impressions,Clicks,7 Day Total Sales,"
                   "7 Day Total Orders (#)\n2026-10-01,SP Auto,3.34,200,4,25.00,1\n"),
}
COMMAND = re.compile(r"`(cwh [^`]*)`")
FLAGS = re.compile(r"`((?:--[a-z]+[ =](?:\"[^\"]*\"|[^\s`\"]+)\s*)+)`")  # `--date 2026-05-31 --location "…"`


def feeds_taking_facts() -> dict[str, set[str]]:
    return {feed: {name for layout in spec.formats for name in layout.options}
            for feed, spec in FEEDS.items() if any(layout.options for layout in spec.formats)}


@pytest.fixture
def fixture_files(tmp_path) -> dict[str, Path]:
    folder = tmp_path / "exports"
    folder.mkdir()
    paths = {}
    for feed, (name, text) in FIXTURES.items():
        paths[feed] = folder / name
        paths[feed].write_text(text)
    return paths


def invoke(args: list[str]):
    return runner.invoke(app, args, terminal_width=400)


def assert_lands(home: Home, feed: str, args: list[str]) -> None:
    result = invoke(args)
    assert result.exit_code == 0, (args, result.output)
    records = [r for r in ledger_records(home, feed)]
    assert records and records[-1]["rows_loaded"] > 0, (args, result.output)


def unland_all(home: Home, feed: str) -> None:
    for record in list(ledger_records(home, feed)):
        assert invoke(["unland", feed, record["file_id"], "--reason", "test"]).exit_code == 0


def run_printed(home: Home, feed: str, command: str, fixture: Path) -> None:
    """Run a printed `cwh …` command (FILE → the fixture) and check the file landed."""
    words = [str(fixture) if word == "FILE" else word for word in shlex.split(command)]
    assert words[0] == "cwh"
    unland_all(home, feed)  # each command lands the fixture afresh
    assert_lands(home, feed, words[1:])


def test_the_fact_flags_are_the_layouts_options():
    taken = set().union(*feeds_taking_facts().values())
    assert taken | READING_FACTS == set(FACTS), \
        "every VendorFormat.options key needs a checked fact in connectors/facts.py"
    params = {p.name for p in __import__("typer").main.get_command(app).commands["ingest"].params}
    assert set(FACTS) <= params


def test_every_hint_a_layout_or_contract_gives_works_as_printed(home, fixture_files):
    assert set(feeds_taking_facts()) == set(FIXTURES), "write a fixture for the new feed that takes facts"
    contracts = load_contracts()
    checked = 0
    for feed in feeds_taking_facts():
        hints = [hint for layout in FEEDS[feed].formats for hint in layout.options.values()]
        texts = hints + [contracts[feed].description]
        for text in texts:
            assert "cwh " not in COMMAND.sub("", text), f"a cwh command outside backticks: {text}"
            for command in COMMAND.findall(text):
                run_printed(home, feed, command, fixture_files[feed])
                checked += 1
            for flags in FLAGS.findall(COMMAND.sub("", text)):
                run_printed(home, feed, f"cwh ingest {feed} FILE {flags}", fixture_files[feed])
                checked += 1
    assert checked >= len(FIXTURES)


def test_every_command_a_rejection_prints_lands_the_file(home, fixture_files):
    for feed, path in fixture_files.items():
        rejected = invoke(["ingest", feed, str(path)])
        assert rejected.exit_code == 1 and "rejected" in rejected.output, rejected.output
        printed = COMMAND.findall(rejected.output)
        flags = FLAGS.findall(COMMAND.sub("", rejected.output))
        assert printed or flags, f"{feed}: the rejection says no command to run: {rejected.output}"
        for command in printed:  # exactly as printed: it names the file itself
            assert str(path) in shlex.split(command), command
            run_printed(home, feed, command, path)
        for fragment in flags:
            run_printed(home, feed, f"cwh ingest {feed} FILE {fragment}", path)


def test_the_duplicate_note_prints_a_working_replace(home, fixture_files):
    path = fixture_files["pinterest_ads"]
    assert_lands(home, "pinterest_ads", ["ingest", "pinterest_ads", str(path), "--currency", "CAD"])
    again = invoke(["ingest", "pinterest_ads", str(path), "--currency", "USD"])
    assert "duplicate" in again.output
    (command,) = COMMAND.findall(again.output)
    words = shlex.split(command)
    assert words[:4] == ["cwh", "ingest", "pinterest_ads", str(path)] and "--replace" in words
    replaced = invoke([*words[1:], "--currency", "USD"])
    assert replaced.exit_code == 0 and "loaded" in replaced.output, replaced.output
    (record,) = ledger_records(home, "pinterest_ads")
    assert record["options"]["currency"] == "USD"


def test_cli_messages_name_commands_that_parse(home):
    """The CLI's own messages (every module of orchestration/cli/): every backticked `cwh …` parses (the
    command and its flags exist)."""
    import typer

    click_app = typer.main.get_command(app)
    folder = Path(__import__("orchestration.cli", fromlist=["x"]).__file__).parent
    source = "".join(path.read_text() for path in sorted(folder.glob("*.py")))
    commands = set(COMMAND.findall(source))
    assert commands
    for command in commands:
        # FILE, FEED and f-string placeholders ({feed}, {needed}: a feed name at run time) as real values
        words = [{"FILE": "x.csv", "FEED": "sessions"}.get(w, "sessions" if re.fullmatch(r"\{\w+\}", w) else w)
                 for w in shlex.split(command)]
        words = words[:next((i for i, w in enumerate(words) if w in ("<", ">", "|")), len(words))]  # the shell's
        words = [w.split("|")[0] for w in words]  # enable|disable: either
        sub = click_app.commands[words[1]]
        sub.make_context(words[1], words[2:], resilient_parsing=False)  # raises on an unknown flag


@pytest.mark.parametrize(("args", "expected"), [
    (["ingest", "pinterest_ads", "{path}", "--currency", "XYZ"], "not an ISO 4217 currency"),
    (["ingest", "pinterest_ads", "{path}", "--option", "currency=HRK"], "not an ISO 4217 currency"),
    (["ingest", "sessions", "{path}", "--channel", "amazon_uk"], "amazon_us"),
    (["ingest", "inventory_snapshots", "{path}", "--date", "2026-13-01", "--location", "Amazon FBA US"], "YYYY-MM-DD"),
    (["ingest", "inventory_snapshots", "{path}", "--date", "31/05/2026", "--location", "Amazon FBA US"], "YYYY-MM-DD"),
    (["ingest", "inventory_snapshots", "{path}", "--date", "2031-01-01", "--location", "Amazon FBA US"],
     "not plausible"),
    (["ingest", "inventory_snapshots", "{path}", "--date", "2026-05-31", "--location", "Amazon FBA UK"],
     "Amazon FBA US"),
    (["ingest", "sessions", "{path}", "--currency", "USD"], "take no --currency"),
    (["ingest", "--all", "--currency", "USD"], "name the feed"),
])
def test_a_wrong_fact_is_refused_and_nothing_lands(home, fixture_files, args, expected):
    feed = args[1] if args[1] != "--all" else "pinterest_ads"
    result = invoke([str(fixture_files[feed]) if a == "{path}" else a for a in args])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()), result.output
    assert not list(ledger_records(home)) and not list(rejections(home))


def test_a_wrong_fact_in_feed_options_rejects_the_file_saying_why(home, fixture_files):
    home.feed_options_file.parent.mkdir(parents=True)
    home.feed_options_file.write_text("pinterest_ads: {currency: US}\n")
    result = invoke(["ingest", "pinterest_ads", str(fixture_files["pinterest_ads"])])
    assert result.exit_code == 1
    (rejection,) = rejections(home, "pinterest_ads")
    assert "'US' is not an ISO 4217 currency" in rejection["reason"] and "feed_options.yml" in rejection["reason"]
    assert not list(ledger_records(home))


def test_facts_are_normalised_and_checked():
    today = datetime.now(UTC).date()
    assert check_facts({"currency": " usd ", "channel": "Amazon_US", "location": "amazon fba  us",
                        "date": "2026-05-31", "other": "kept"}) == {
        "currency": "USD", "channel": "amazon_us", "location": "Amazon FBA US", "date": "2026-05-31", "other": "kept"}
    assert check_facts({"date": (today + timedelta(days=1)).isoformat()})
    for bad in ({"date": (today + timedelta(days=2)).isoformat()}, {"date": "1999-12-31"}, {"date": "2026-02-30"},
                {"currency": "EURO"}, {"currency": "VEF"}, {"currency": "XXX"}, {"channel": "amazon"}):
        with pytest.raises(FactError):
            check_facts(bad)


def test_the_currency_list_is_iso_4217_in_use():
    # well-known codes in use, and codes withdrawn (Croatian kuna 2023, old bolívar, Deutsche Mark)
    in_use = {"USD", "EUR", "GBP", "CAD", "JPY", "INR", "AUD", "MXN", "CHF", "SEK", "XCG", "ZWG", "SLE"}
    assert in_use <= ACTIVE_CURRENCIES
    assert not {"HRK", "VEF", "DEM", "ANG", "ZWL", "XXX", "XTS", "XAU"} & ACTIVE_CURRENCIES
    assert all(re.fullmatch(r"[A-Z]{3}", code) for code in ACTIVE_CURRENCIES)
    babel = pytest.importorskip("babel.core")
    from babel.numbers import get_territory_currencies

    # an independent source: CLDR's currencies legal tender somewhere today (babel, when installed)
    tender = {code for territory in babel.get_global("territory_currencies")
              for code in get_territory_currencies(territory, datetime.now(UTC).date(), tender=True)}
    assert tender - ACTIVE_CURRENCIES == set()
    assert ACTIVE_CURRENCIES - tender <= {"SVC", "VED"}  # in ISO 4217, not legal tender in CLDR's view
