"""`cwh ingest --replace` and `cwh unland`: a landed file can be landed again with corrected facts or
taken out of the lake; the ledger records when and why, nothing is deleted, and the next build
plans to rebuild what the file touched (the end-to-end build: tests/e2e/test_unland_replace.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pyarrow.parquet as pq
from typer.testing import CliRunner

from connectors.lake import land_all, landing_files, ledger_records, rejections
from connectors.unland import removal_records
from orchestration.cli import app
from orchestration.pipeline import incremental
from tests.orchestration.test_cli_facts import FIXTURES

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), terminal_width=400)


def pinterest_file(tmp_path):
    name, text = FIXTURES["pinterest_ads"]
    path = tmp_path / name
    path.write_text(text)
    return path


def currencies(home, feed: str) -> set[str]:
    return {row["currency"] for path in home.raw(feed).glob("*.parquet") for row in pq.read_table(path).to_pylist()}


def test_a_wrong_currency_is_replaced_and_the_first_landing_archived(home, tmp_path):
    path = pinterest_file(tmp_path)
    assert invoke("ingest", "pinterest_ads", str(path), "--currency", "CAD").exit_code == 0
    assert currencies(home, "pinterest_ads") == {"CAD"}
    again = invoke("ingest", "pinterest_ads", str(path), "--currency", "USD")
    assert "duplicate" in again.output and "--replace" in again.output
    assert currencies(home, "pinterest_ads") == {"CAD"}

    replaced = invoke("ingest", "pinterest_ads", str(path), "--replace", "--currency", "USD")
    assert replaced.exit_code == 0 and "loaded" in replaced.output, replaced.output
    assert currencies(home, "pinterest_ads") == {"USD"}  # the lake holds the new landing only
    (record,) = ledger_records(home, "pinterest_ads")
    assert record["options"]["currency"] == "USD" and record["rows_loaded"] == 1
    (removal,) = removal_records(home, "pinterest_ads")
    assert removal["action"] == "replace" and "currency=USD" in removal["reason"]
    assert removal["landed"]["options"]["currency"] == "CAD"
    assert datetime.fromisoformat(removal["removed_at"]) <= datetime.fromisoformat(record["loaded_at"])
    archived = home.root / removal["archive"]
    assert {row["currency"] for row in pq.read_table(archived / "raw.parquet").to_pylist()} == {"CAD"}
    assert json.loads((archived / "ledger.json").read_text())["options"]["currency"] == "CAD"
    assert landing_files(home, "pinterest_ads") == [home.landing("pinterest_ads") / path.name]


def test_a_rejected_replacement_keeps_the_earlier_landing(home, tmp_path):
    path = pinterest_file(tmp_path)
    invoke("ingest", "pinterest_ads", str(path), "--currency", "CAD")
    before = list(ledger_records(home, "pinterest_ads"))
    failed = invoke("ingest", "pinterest_ads", str(path), "--replace", "--option", "currency=")
    assert failed.exit_code == 1 and "the earlier landing stays" in failed.output, failed.output
    assert list(ledger_records(home, "pinterest_ads")) == before
    assert currencies(home, "pinterest_ads") == {"CAD"}
    assert not list(removal_records(home)) and not list(rejections(home))
    assert not (home.root / "lake" / "removed" / "pinterest_ads").exists() or \
        not any((home.root / "lake" / "removed" / "pinterest_ads").iterdir())


def test_unland_moves_the_file_out_and_the_nightly_does_not_land_it_again(home, tmp_path):
    path = pinterest_file(tmp_path)
    invoke("ingest", "pinterest_ads", str(path), "--currency", "USD")
    (record,) = ledger_records(home, "pinterest_ads")
    for wrong in ("nothing.csv", "abc"):  # not landed; an id prefix too short to be safe
        refused = invoke("unland", "pinterest_ads", wrong)
        assert refused.exit_code == 2 and "is not landed" in " ".join(refused.output.split())
    removed = invoke("unland", "pinterest_ads", record["file_id"][:8], "--reason", "test account, not ours")
    assert removed.exit_code == 0, removed.output
    assert not list(ledger_records(home, "pinterest_ads"))
    assert not list(home.raw("pinterest_ads").glob("*.parquet"))
    assert landing_files(home, "pinterest_ads") == []  # the nightly's land_all finds nothing to land
    assert [r for r in land_all(home, ["pinterest_ads"])] == []
    (removal,) = removal_records(home, "pinterest_ads")
    assert removal["action"] == "unland" and removal["reason"] == "test account, not ours"
    assert removal["landed"]["file_id"] == record["file_id"]
    archived = home.root / removal["archive"]
    assert sorted(p.name for p in archived.iterdir()) == sorted(["ledger.json", "raw.parquet", path.name])
    # landed again later (the user changed their mind): it lands, as a new landing
    assert "loaded" in invoke("ingest", "pinterest_ads", str(path), "--currency", "USD").output


def test_the_next_build_rebuilds_the_staging_of_a_removed_file_from_its_first_event(home, tmp_path):
    path = pinterest_file(tmp_path)
    invoke("ingest", "pinterest_ads", str(path), "--currency", "USD")
    last_build = datetime.now(UTC)
    state = incremental.state_path(home)
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"max_date": "2026-10-31", "started_at": last_build.isoformat()}))
    day = date(2026, 10, 31)
    quiet = incremental.plan(home, day, day)
    assert quiet.rebuild_feeds == set() and quiet.first_day == day

    invoke("unland", "pinterest_ads", str(path))
    window = incremental.plan(home, day, day)
    assert window.rebuild_feeds == {"pinterest_ads"}
    assert window.first_day == date(2026, 10, 1)  # the fixture's only event day
    assert any("removed" in reason for reason in window.reasons)
    # once a build has run after the removal, it is no longer pending
    state.write_text(json.dumps({"max_date": "2026-10-31",
                                 "started_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}))
    assert incremental.plan(home, day, day).rebuild_feeds == set()


def test_a_month_restated_by_a_removal_names_the_removed_file(home, tmp_path):
    from orchestration.pipeline.restatements import _reason

    path = pinterest_file(tmp_path)
    invoke("ingest", "pinterest_ads", str(path), "--currency", "USD")
    published = datetime.now(UTC)
    october, september = date(2026, 10, 1), date(2026, 9, 1)
    quiet = _reason(home, [], "shopify_web", october, "run-1", published)
    assert quiet.startswith("no file with events in 2026-10")
    invoke("unland", "pinterest_ads", path.name, "--reason", "test account, not ours")
    reason = _reason(home, [], "shopify_web", october, "run-1", published)
    assert reason == ("files with events in 2026-10 removed after the previous publish (run run-1, "
                      f"{published:%Y-%m-%d %H:%M} UTC): pinterest_ads/{path.name} (test account, not ours)")
    assert _reason(home, [], "shopify_web", september, "run-1", published).startswith("no file")


def test_feeds_lists_the_landed_files_with_their_facts_and_the_removed_ones(home, tmp_path):
    path = pinterest_file(tmp_path)
    invoke("ingest", "pinterest_ads", str(path), "--currency", "CAD")
    invoke("ingest", "pinterest_ads", str(path), "--replace", "--currency", "USD")
    shown = " ".join(invoke("feeds", "pinterest_ads").output.split())
    (record,) = ledger_records(home, "pinterest_ads")
    assert f"{path.name} │ {record['file_id']}" in shown and "currency=USD" in shown
    assert "Removed files of pinterest_ads" in shown and "replaced: landed again with currency=USD" in shown


def test_no_file_leaves_the_lake_while_a_run_builds_from_it(home, tmp_path):
    from orchestration.pipeline.run_lock import run_lock

    path = pinterest_file(tmp_path)
    invoke("ingest", "pinterest_ads", str(path), "--currency", "CAD")
    before = list(ledger_records(home, "pinterest_ads"))
    with run_lock(home, "nightly-under-test", command="cwh run --date 2026-11-01"):
        for args in (("unland", "pinterest_ads", path.name),
                     ("ingest", "pinterest_ads", str(path), "--replace", "--currency", "USD")):
            refused = invoke(*args)
            assert refused.exit_code == 2 and "nightly-under-test" in refused.output, refused.output
    assert list(ledger_records(home, "pinterest_ads")) == before and not list(removal_records(home))
    assert invoke("unland", "pinterest_ads", path.name).exit_code == 0  # once the run is over


def test_landing_folder_duplicates_print_no_replace_hint(home, tmp_path):
    home.feed_options_file.parent.mkdir(parents=True)
    home.feed_options_file.write_text("pinterest_ads: {currency: USD}\n")
    name, text = FIXTURES["pinterest_ads"]
    home.landing("pinterest_ads").mkdir(parents=True)
    (home.landing("pinterest_ads") / name).write_text(text)
    assert "loaded" in invoke("ingest", "--all").output
    for args in (("ingest", "--all"), ("ingest", "pinterest_ads")):
        again = invoke(*args)
        assert again.exit_code == 0 and "duplicate" in again.output and "--replace" not in again.output
