"""The weekly digest in Markdown, from the published snapshot (read-only): per channel owner, what
changed this week, the flags (this week's and the standing ones of the latest complete month) and
the next action. The text is templates/digest.md; the next action is decided here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import duckdb

from orchestration.outputs.formatting import render, rows


def digest_week(con, week: date | None) -> date | None:
    if week is not None:
        return week - timedelta(days=week.weekday())
    row = con.execute("select max(week_start) from marts.channel_readback_weekly where is_complete").fetchone()
    return row[0]


def render_digest(database: Path, week: date | None = None) -> tuple[date, str]:
    """The digest of the week holding `week` (default: the last complete week): (its Monday, text)."""
    with duckdb.connect(str(database), read_only=True) as con:
        week = digest_week(con, week)
        if week is None:
            raise ValueError("the published snapshot has no weekly readback")
        weekly = rows(con, "select * from marts.channel_readback_weekly where week_start = ? order by owner, channel",
                      [week])
        month = con.execute("select max(month) from marts.channel_readback_monthly where is_complete and month <= ?",
                            [week]).fetchone()[0]
        standing = rows(con, "select * from marts.channel_flags where grain = 'month' and period_start = ? and flag in "
                             "('retire_candidate', 'attention_without_contribution', 'margin_floor_breach') "
                             "order by flag_priority", [month]) if month else []
        weekly_flags = rows(con, "select * from marts.channel_flags where grain = 'week' and period_start = ? "
                                 "order by flag_priority", [week])
    owners = defaultdict(list)
    for r in weekly:
        mine = [f for f in standing if f["channel"] == r["channel"]]
        owners[r["owner"]].append({"row": r, "flags": [f for f in weekly_flags if f["channel"] == r["channel"]] + mine,
                                   "action": _next_action(r, [f["evidence"] for f in mine])})
    text = render("digest.md", week=week, month=month, owners=owners)
    return week, text.rstrip() + "\n"


def _next_action(r: dict, standing: list[str]) -> str:
    """The week's next action, with the standing flags' evidence before the owner."""
    owner = r["owner"]
    if r["flag_count"]:
        action = r["next_action"]
        if standing:
            action = action.replace(f"; owner: {owner}", "; " + "; ".join(standing) + f"; owner: {owner}")
        return action
    if standing:
        return f"Review {r['channel_name']}: " + "; ".join(standing) + f"; owner: {owner}"
    return r["next_action"]


def write_digest(database: Path, outputs: Path, week: date | None = None, out: Path | None = None) -> Path:
    week, text = render_digest(database, week)
    out = out or outputs / f"digest_{week.isoformat()}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
