"""Check results and alerts of a run: one Parquet file per run under the project home, and an
optional Slack-compatible webhook.

    ops/check_results/<run_id>.parquet   every check result of the run (the history `cwh status` reads)
    ops/alerts/<run_id>.parquet          the results that need a person: every 'warn' and 'fail'

A check result is any object with the attributes of `orchestration.pipeline.gates.outcome.CheckOutcome` (feed, check,
status 'ok'|'warn'|'fail', blocking, detail, suggested_action, owner, owner_contact, metadata);
this module does not import it, so any such object (or a test's own dataclass) works.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa
import pyarrow.parquet as pq

from connectors.home import Home, alerts_dir, check_results_dir

log = logging.getLogger(__name__)

WEBHOOK_ENV = "CWH_ALERT_WEBHOOK"
STATUSES = ("ok", "warn", "fail")
MAX_ALERT_BLOCKS = 45  # Slack accepts at most 50 blocks per message


@runtime_checkable
class CheckLike(Protocol):
    feed: str
    check: str
    status: str  # 'ok' | 'warn' | 'fail'
    blocking: bool
    detail: str
    suggested_action: str
    owner: str
    owner_contact: str
    metadata: dict


CHECK_RESULTS_SCHEMA = pa.schema([
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("logical_date", pa.date32(), nullable=False),
    pa.field("checked_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("feed", pa.string()),
    pa.field("check", pa.string(), nullable=False),
    pa.field("status", pa.string(), nullable=False),
    pa.field("blocking", pa.bool_(), nullable=False),
    pa.field("detail", pa.string()),
    pa.field("suggested_action", pa.string()),
    pa.field("owner", pa.string()),
    pa.field("owner_contact", pa.string()),
    pa.field("metadata", pa.string()),  # JSON text
])

ALERT_FIELDS = ("feed", "owner", "owner_contact", "check", "status", "detail", "suggested_action")
ALERTS_SCHEMA = pa.schema([
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("logical_date", pa.date32(), nullable=False),
    pa.field("raised_at", pa.timestamp("us", tz="UTC"), nullable=False),
    *(pa.field(name, pa.string()) for name in ALERT_FIELDS),
    pa.field("blocking", pa.bool_()),
])


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def check_to_dict(check: CheckLike) -> dict:
    """The attributes of one check result as plain JSON-able values."""
    status = str(getattr(check, "status", "")).lower()
    if status not in STATUSES:
        raise ValueError(f"check {getattr(check, 'check', '?')!r}: status must be one of {STATUSES}, got {status!r}")
    return {
        "feed": _text(getattr(check, "feed", None)),
        "check": str(check.check),
        "status": status,
        "blocking": bool(getattr(check, "blocking", False)),
        "detail": _text(getattr(check, "detail", None)),
        "suggested_action": _text(getattr(check, "suggested_action", None)),
        "owner": _text(getattr(check, "owner", None)),
        "owner_contact": _text(getattr(check, "owner_contact", None)),
        "metadata": dict(getattr(check, "metadata", None) or {}),
    }


def summarize(checks: Iterable[CheckLike]) -> dict[str, int]:
    """{'passed': n ok, 'warned': n warn, 'failed': n fail, 'blocking_failed': n blocking fail}."""
    counts = {"passed": 0, "warned": 0, "failed": 0, "blocking_failed": 0}
    for c in map(check_to_dict, checks):
        counts[{"ok": "passed", "warn": "warned", "fail": "failed"}[c["status"]]] += 1
        if c["status"] == "fail" and c["blocking"]:
            counts["blocking_failed"] += 1
    return counts


def _write_parquet(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _safe_name(run_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_.=+" else "_" for ch in str(run_id))


def record_run(home: Home, *, run_id: str, logical_date: date, checks: Sequence[CheckLike],
               checked_at: datetime | None = None) -> Path:
    """Write every check result of a run to ops/check_results/<run_id>.parquet (replaces a re-run's
    file). `checked_at` defaults to now (UTC)."""
    now = checked_at or datetime.now(UTC)
    rows = []
    for c in map(check_to_dict, checks):
        c["metadata"] = json.dumps(c["metadata"], default=str, sort_keys=True)
        rows.append({"run_id": str(run_id), "logical_date": logical_date, "checked_at": now, **c})
    table = pa.Table.from_pylist(rows, schema=CHECK_RESULTS_SCHEMA)
    return _write_parquet(table, check_results_dir(home) / f"{_safe_name(run_id)}.parquet")


def alerts_from(checks: Iterable[CheckLike]) -> list[dict]:
    """One alert row per 'warn' or 'fail' result: feed, owner, owner_contact, check, status, detail,
    suggested_action (and blocking). Blocking failures first, then failures, then warnings."""
    rows = []
    for c in map(check_to_dict, checks):
        if c["status"] in ("warn", "fail"):
            rows.append({**{k: c[k] for k in ALERT_FIELDS}, "blocking": c["blocking"]})
    rank = {("fail", True): 0, ("fail", False): 1, ("warn", True): 2, ("warn", False): 2}
    return sorted(rows, key=lambda r: rank[(r["status"], r["blocking"])])


def record_alerts(home: Home, *, run_id: str, logical_date: date, checks: Sequence[CheckLike]) -> list[dict]:
    """Write the run's alerts to ops/alerts/<run_id>.parquet (an empty file when there are none) and
    return them, each with run_id and logical_date added."""
    now = datetime.now(UTC)
    rows = [{"run_id": str(run_id), "logical_date": logical_date, "raised_at": now, **a}
            for a in alerts_from(checks)]
    _write_parquet(pa.Table.from_pylist(rows, schema=ALERTS_SCHEMA),
                   alerts_dir(home) / f"{_safe_name(run_id)}.parquet")
    return rows


def _mrkdwn(value: Any, limit: int = 2900) -> str:
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def webhook_payload(alerts: Sequence[dict]) -> dict:
    """Slack-compatible message: a summary `text` (the notification fallback) and one section
    block per alert (feed, owner, check, detail, suggested action)."""
    fails = sum(1 for a in alerts if a.get("status") == "fail")
    warns = sum(1 for a in alerts if a.get("status") == "warn")
    run = next((a.get("run_id") for a in alerts if a.get("run_id")), None)
    feeds = sorted({str(a.get("feed")) for a in alerts if a.get("feed")})
    summary = (f"Channel contribution warehouse: {fails} failing, {warns} warning check(s)"
               + (f" in run {run}" if run else "") + (f" ({', '.join(feeds)})" if feeds else ""))
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(summary)}}]
    for alert in alerts[:MAX_ALERT_BLOCKS]:
        icon = ":red_circle:" if alert.get("status") == "fail" else ":warning:"
        kind = "blocking fail" if alert.get("status") == "fail" and alert.get("blocking") else alert.get("status")
        owner = alert.get("owner") or "unowned"
        if alert.get("owner_contact"):
            owner = f"{owner} ({alert['owner_contact']})"
        lines = [
            f"{icon} *{_mrkdwn(alert.get('feed') or '(warehouse)')}* — `{_mrkdwn(alert.get('check'))}` {kind}",
            f"*Owner:* {_mrkdwn(owner)}",
            f"*Detail:* {_mrkdwn(alert.get('detail') or '-', 1200)}",
            f"*Action:* {_mrkdwn(alert.get('suggested_action') or '-', 1200)}",
        ]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}})
    if len(alerts) > MAX_ALERT_BLOCKS:
        blocks.append({"type": "context", "elements": [{
            "type": "mrkdwn", "text": f"…and {len(alerts) - MAX_ALERT_BLOCKS} more (ops/alerts/)"}]})
    return {"text": summary, "blocks": blocks}


def post_webhook(alerts: Sequence[dict], *, url: str | None = None, timeout: float = 5.0) -> bool:
    """POST the alerts to a Slack-compatible incoming webhook (default: $CWH_ALERT_WEBHOOK).

    No-op (False) when there is no url or no alert. Never raises on network or HTTP errors: logs
    them and returns False. True when the endpoint answered 2xx."""
    url = url if url is not None else os.environ.get(WEBHOOK_ENV)
    if not url or not alerts:
        return False
    body = json.dumps(webhook_payload(list(alerts)), default=str).encode()
    try:
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            ok = 200 <= response.status < 300
            if not ok:
                log.warning("alert webhook answered HTTP %s", response.status)
            return ok
    except urllib.error.HTTPError as err:
        log.warning("alert webhook answered HTTP %s: %s", err.code, err.reason)
    except (urllib.error.URLError, OSError, ValueError) as err:  # refused, DNS, timeout, bad url
        log.warning("alert webhook failed: %s", err)
    return False
