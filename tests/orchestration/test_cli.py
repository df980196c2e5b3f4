"""The `cwh` command line."""

from typer.testing import CliRunner

from orchestration.cli import app
from tests.connectors.test_shopify import order_rows, write_csv

runner = CliRunner()


def test_ingest_prints_per_file_counts_and_feeds_lists_what_is_landed(home, tmp_path):
    good = write_csv(tmp_path / "orders.csv", order_rows())
    result = runner.invoke(app, ["ingest", "shopify_orders", str(good)])
    assert result.exit_code == 0, result.output
    assert "orders.csv" in result.output and "loaded" in result.output
    again = runner.invoke(app, ["ingest", "shopify_orders", str(good)])
    assert "duplicate" in again.output
    feeds = runner.invoke(app, ["feeds"])
    assert feeds.exit_code == 0
    assert "shopify_orders" in feeds.output and "amazon_settlements" in feeds.output
    assert "3 rows landed, 0 quarantined" in feeds.output


def test_a_rejected_file_exits_non_zero_and_says_why(home, tmp_path):
    bad = tmp_path / "payments.csv"
    bad.write_text("Transaction Date,Type\n2026-01-01,charge\n")
    result = runner.invoke(app, ["ingest", "shopify_orders", str(bad)])
    assert result.exit_code == 1
    assert "rejected" in result.output and "not a Shopify orders export" in result.output


def test_feed_contract_and_quarantine_views(home, tmp_path):
    rows = order_rows()
    rows[2]["Created at"] = "not a date"
    runner.invoke(app, ["ingest", "shopify_orders", str(write_csv(tmp_path / "o.csv", rows))])
    shown = runner.invoke(app, ["feeds", "shopify_orders"])
    assert "primary key: order_name, line_number" in shown.output and "email_hash" in shown.output
    quarantine = runner.invoke(app, ["quarantine"])
    assert "o.csv" in quarantine.output and "not a date" in quarantine.output


def test_demo_generates_every_feed(home):
    result = runner.invoke(app, ["demo", "--days", "10", "--orders-per-day", "10"])
    assert result.exit_code == 0, result.output
    assert (home.root / "demo" / "truth" / "pnl_daily.csv").exists()
    assert runner.invoke(app, ["ingest", "--all"]).exit_code == 0
