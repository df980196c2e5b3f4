"""Check-result history, alerts, the webhook and the per-feed SLA status."""

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import polars as pl
import pytest
from rich.console import Console

from orchestration.pipeline.ops.alerts import alerts_from, post_webhook, record_alerts, record_run
from orchestration.pipeline.ops.status import feed_sla_status, render_status, write_feed_sla_status


@dataclass
class Check:  # the shape of orchestration.pipeline.gates.outcome.CheckOutcome
    feed: str
    check: str
    status: str
    blocking: bool = False
    detail: str = ""
    suggested_action: str = ""
    owner: str = "E-commerce operations"
    owner_contact: str = "ecommerce-ops@example.com"
    metadata: dict = field(default_factory=dict)


RUN = [
    Check("shopify_orders", "freshness", "ok", True, "lag 12h", metadata={"lag_hours": 12}),
    Check("shopify_orders", "no_rejected_files", "fail", True, "orders_0801.csv: missing column 'Name'",
          "Re-export the orders file with the default column set"),
    Check("meta_ads", "no_quarantined_rows", "warn", False, "3 of 900 rows quarantined",
          "cwh quarantine meta_ads", "Growth marketing", "growth-marketing@example.com"),
]


def test_record_run_writes_every_result(home):
    path = record_run(home, run_id="run-7", logical_date=date(2026, 8, 1), checks=RUN)
    assert path == home.root / "ops" / "check_results" / "run-7.parquet"
    frame = pl.read_parquet(path)
    assert frame.height == 3
    assert frame.columns == ["run_id", "logical_date", "checked_at", "feed", "check", "status", "blocking",
                             "detail", "suggested_action", "owner", "owner_contact", "metadata"]
    assert frame["status"].to_list() == ["ok", "fail", "warn"]
    assert frame["blocking"].to_list() == [True, True, False]
    assert set(frame["run_id"]) == {"run-7"} and set(frame["logical_date"]) == {date(2026, 8, 1)}
    assert json.loads(frame["metadata"][0]) == {"lag_hours": 12}


def test_alerts_are_the_warns_and_fails(home):
    rows = alerts_from(RUN)
    assert [(a["feed"], a["check"], a["status"]) for a in rows] == [
        ("shopify_orders", "no_rejected_files", "fail"), ("meta_ads", "no_quarantined_rows", "warn")]
    assert rows[1]["owner"] == "Growth marketing" and rows[1]["owner_contact"] == "growth-marketing@example.com"
    recorded = record_alerts(home, run_id="run-7", logical_date=date(2026, 8, 1), checks=RUN)
    frame = pl.read_parquet(home.root / "ops" / "alerts" / "run-7.parquet")
    assert frame.height == len(recorded) == 2
    assert frame["suggested_action"].to_list() == ["Re-export the orders file with the default column set",
                                                   "cwh quarantine meta_ads"]
    assert record_alerts(home, run_id="run-8", logical_date=date(2026, 8, 2), checks=RUN[:1]) == []
    assert pl.read_parquet(home.root / "ops" / "alerts" / "run-8.parquet").height == 0


@pytest.fixture
def webhook():
    received, status = [], {"code": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.headers["Content-Type"],
                             json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(status["code"])
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received, status
    server.shutdown()
    server.server_close()


def test_post_webhook_sends_slack_json(webhook, monkeypatch):
    url, received, _ = webhook
    alerts = [{**a, "run_id": "run-7"} for a in alerts_from(RUN)]
    assert post_webhook(alerts, url=url) is True
    (content_type, body), = received
    assert content_type.startswith("application/json")
    assert "run-7" in body["text"] and "shopify_orders" in body["text"]
    sections = body["blocks"][1:]
    assert len(sections) == 2 and all(b["type"] == "section" for b in sections)
    assert "shopify_orders" in sections[0]["text"]["text"]
    assert "E-commerce operations" in sections[0]["text"]["text"]
    assert "ecommerce-ops@example.com" in sections[0]["text"]["text"]
    assert "Re-export the orders file" in sections[0]["text"]["text"]
    assert "Growth marketing" in sections[1]["text"]["text"]
    monkeypatch.setenv("CWH_ALERT_WEBHOOK", url)  # the default url
    assert post_webhook(alerts) is True and len(received) == 2


def test_post_webhook_is_a_safe_no_op(webhook, monkeypatch, caplog):
    url, received, status = webhook
    monkeypatch.delenv("CWH_ALERT_WEBHOOK", raising=False)
    alerts = alerts_from(RUN)
    assert post_webhook(alerts) is False  # no url
    assert post_webhook([], url=url) is False  # no alerts
    assert received == []
    status["code"] = 500
    with caplog.at_level(logging.WARNING):
        assert post_webhook(alerts, url=url) is False
        assert post_webhook(alerts, url="http://127.0.0.1:9/closed", timeout=1) is False  # refused
        assert post_webhook(alerts, url="not a url") is False
    assert "HTTP 500" in caplog.text


def _ledger(home, feed, max_event, loaded_at):
    folder = home.ledger(feed)
    folder.mkdir(parents=True, exist_ok=True)
    n = len(list(folder.glob("*.json")))
    (folder / f"{n:016x}.json").write_text(json.dumps(
        {"feed": feed, "rows_loaded": 1, "rows_quarantined": 0, "max_event_time": max_event, "loaded_at": loaded_at}))


def _run(home, day: date, *results):
    checked_at = datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC)
    record_run(home, run_id=f"run-{day.isoformat()}", logical_date=day, checked_at=checked_at,
               checks=[Check(feed, check, status, blocking) for feed, check, status, blocking in results])
    return checked_at


def test_feed_sla_status_from_history(home):
    as_of = date(2026, 8, 10)
    _ledger(home, "shopify_orders", "2026-08-09 12:00:00+00:00", "2026-08-09T20:00:00+00:00")
    _ledger(home, "shopify_orders", "2026-08-01 10:00:00+00:00", "2026-08-10T01:00:00+00:00")  # newest load
    _ledger(home, "meta_ads", "2026-08-07", "2026-08-08T03:00:00+00:00")
    _ledger(home, "google_ads", "2026-08-09", "2026-08-09T03:00:00+00:00")
    _ledger(home, "amazon_ads", "2026-08-09", "2026-08-09T03:00:00+00:00")
    _ledger(home, "fx_rates", "2026-08-12", "2026-08-09T03:00:00+00:00")  # event after as_of
    _ledger(home, "channel_targets", "2026-07-01", "2026-07-02T09:00:00+00:00")  # monthly: covers July
    _ledger(home, "cogs", "2025-01-01", "2026-08-01T09:00:00+00:00")  # on_change: judged by the load
    _ledger(home, "sessions", "2026-08-07", "2026-08-08T05:00:00+00:00")  # Friday; weekend is quiet
    fail, ok = ("shopify_orders", "no_rejected_files", "fail", True), ("shopify_orders", "freshness", "ok", True)
    _run(home, date(2026, 7, 1), fail)  # outside the 30 days
    _run(home, date(2026, 7, 20), ("shopify_orders", "row_count", "fail", False), ok)  # non-blocking fail counts
    _run(home, date(2026, 8, 5), ok, ("google_ads", "freshness", "ok", True))
    _run(home, date(2026, 8, 6), fail, ok)
    _run(home, date(2026, 8, 7), ok, ("amazon_ads", "freshness", "ok", True))
    failing_since = _run(home, date(2026, 8, 8), fail, ("google_ads", "no_quarantined_rows", "warn", False))
    ok_since = _run(home, date(2026, 8, 9), fail, ("google_ads", "freshness", "ok", True),
                    ("amazon_ads", "freshness", "ok", True))
    record_run(home, run_id="sessions-2026-08-10", logical_date=date(2026, 8, 10), checks=[
        Check("sessions", "freshness", "ok", True, metadata={"allowed_hours": 84.0, "sla_hours": 36})])
    warn_since = _run(home, date(2026, 8, 10), fail, ok, ("google_ads", "freshness", "ok", True),
                      ("meta_ads", "freshness", "ok", True), ("amazon_ads", "no_quarantined_rows", "warn", False))
    _run(home, date(2026, 8, 11), ok)  # after as_of: ignored

    frame = feed_sla_status(home, as_of=as_of)
    assert frame.height == 17  # every contract
    rows = {r["feed"]: r for r in frame.iter_rows(named=True)}

    shop = rows["shopify_orders"]
    assert (shop["state"], shop["since"], shop["failures_30d"]) == ("failing", failing_since, 5)
    assert shop["last_check_run"] == "run-2026-08-10"
    assert shop["last_event"] == datetime(2026, 8, 9, 12, tzinfo=UTC)
    assert shop["last_load"] == datetime(2026, 8, 10, 1, tzinfo=UTC)
    assert (shop["lag_hours"], shop["sla_hours"]) == (12.0, 36)
    assert (shop["owner"], shop["owner_contact"]) == ("E-commerce operations", "ecommerce-ops@example.com")

    meta = rows["meta_ads"]  # the 8/7 figures cover until 8/8 00:00: lag 48h > 36h, checks all ok
    assert meta["last_event"] == datetime(2026, 8, 7, tzinfo=UTC)
    assert (meta["state"], meta["lag_hours"], meta["failures_30d"]) == ("late", 48.0, 0)
    assert meta["since"] == datetime(2026, 8, 9, 12, tzinfo=UTC)  # when the SLA ran out
    google = rows["google_ads"]  # 8/9 figures: lag 0h; warned on 8/8, clean since 8/9
    assert (google["state"], google["lag_hours"], google["since"]) == ("ok", 0.0, ok_since)
    assert (rows["channel_targets"]["state"], rows["channel_targets"]["lag_hours"]) == ("ok", 216.0)
    assert (rows["cogs"]["state"], rows["cogs"]["lag_hours"]) == ("ok", 207.0)  # old prices, recent load
    sessions = rows["sessions"]  # lag 48h, but the freshness check allowed 84h (quiet weekend)
    assert (sessions["state"], sessions["lag_hours"]) == ("ok", 48.0)
    amazon = rows["amazon_ads"]  # fresh, but the latest run warned
    assert (amazon["state"], amazon["since"]) == ("late", warn_since)
    assert "no_quarantined_rows" in amazon["reason"]
    assert (rows["fx_rates"]["state"], rows["fx_rates"]["lag_hours"]) == ("ok", 0.0)
    costs = rows["operating_costs"]  # nothing landed at all
    assert (costs["state"], costs["last_event"], costs["lag_hours"], costs["last_check_run"]) == (
        "late", None, None, None)
    assert costs["reason"] == "nothing landed"

    path = write_feed_sla_status(home, frame)
    assert path == home.root / "ops" / "feed_sla_status.parquet"
    assert pl.read_parquet(path).equals(frame)
    console = Console(record=True, width=250)
    console.print(render_status(frame))
    text = console.export_text()
    assert text.index("shopify_orders") < text.index("meta_ads") < text.index("google_ads")  # failing, late, ok


def test_feed_sla_status_with_no_history(home):
    frame = feed_sla_status(home, as_of=date(2026, 8, 10))
    assert frame.height == 17 and set(frame["state"]) == {"late"} and frame["failures_30d"].sum() == 0
