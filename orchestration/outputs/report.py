"""The operator's readback as one self-contained HTML file, and the weekly digest in Markdown.

Both read the **published** snapshot (`warehouse/published.duckdb`, read-only), never the build:
what they show is what passed the audit. The HTML works offline: plotly.js is inlined once, no
CDN, no web fonts, no external links; every value is escaped.

Sections of the report (the month shown is the last complete month, or `month=`):
- the flags table with each channel's next action (channel_readback_monthly, channel_flags);
- the contribution waterfall, gross sales → contribution after opex (all channels, or one channel
  from the dropdown);
- each channel's share of revenue against its share of operating costs (and of contribution);
- daily trends (order revenue and marketing spend) with the anomalies of channel_anomalies_daily
  marked, and the monthly net revenue and contribution after opex;
- the revenue gap to target and its drivers (orders = traffic + conversion, value per order);
- reconciliation status (marts.channel_pnl_reconciled) and inventory (marts.inventory_kpis_monthly)
  when the published snapshot has them; feed SLA status (ops.feed_sla_status).
"""

from __future__ import annotations

import html
import os
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

PNL_STEPS = [  # (label, column, sign): the waterfall from gross sales to contribution after opex
    ("Gross sales", "gross_sales", 1), ("Discounts", "discounts", -1), ("Returns", "returns", -1),
    ("Shipping income", "shipping_income", 1), ("COGS", "cogs", -1), ("Fulfillment", "fulfillment_costs", -1),
    ("Payment fees", "payment_fees", -1), ("Marketplace fees", "marketplace_fees", -1),
    ("Marketing", "marketing_spend", -1), ("Operating costs", "operating_costs", -1),
]
FLAG_LABELS = {
    "retire_candidate": "retire candidate", "attention_without_contribution": "attention without contribution",
    "margin_floor_breach": "margin floor breach", "price_inconsistency": "price inconsistency",
    "promo_collision": "promo collision", "anomaly": "anomaly",
}
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:24px;color:#1f2933;
background:#fff}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d9e2ec;
padding-bottom:4px}.meta{color:#52606d;font-size:13px}table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #d9e2ec;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f0f4f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}.flag{display:inline-block;background:#fde8e8;color:#9b1c1c;
border-radius:3px;padding:1px 6px;margin:1px;font-size:12px}.ok{color:#276749}.warn{color:#975a16}.fail{color:#9b1c1c}
.note{color:#52606d;font-size:12px}.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _money(value) -> str:
    return "" if value is None else f"{float(value):,.2f}"


def _pct(value) -> str:
    return "" if value is None else f"{float(value) * 100:.1f}%"


def _has(con, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [schema, table]).fetchone()[0])


def _columns(con, schema: str, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, table]).fetchall()]


def _rows(con, sql: str, params=None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _table(rows: list[dict], columns: list[str] | None = None, numeric: set[str] | None = None,
           formats: dict | None = None) -> str:
    if not rows:
        return '<p class="note">No rows.</p>'
    columns = columns or list(rows[0])
    numeric, formats = numeric or set(), formats or {}
    head = "".join(f"<th>{_e(c.replace('_', ' '))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            text = formats[c](value) if c in formats else _plain(value)
            cls = ' class="num"' if c in numeric else ""
            cells.append(f"<td{cls}>{_e(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(fig, first: bool, div_id: str) -> str:
    fig.update_layout(font=dict(family="system-ui, sans-serif", size=12), margin=dict(l=50, r=20, t=40, b=40),
                      template="plotly_white")
    return fig.to_html(full_html=False, include_plotlyjs=bool(first), include_mathjax=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def report_month(con) -> date | None:
    row = con.execute("select max(month) from marts.channel_readback_monthly where is_complete").fetchone()
    if row[0] is None:
        row = con.execute("select max(month) from marts.channel_readback_monthly").fetchone()
    return row[0]


def render_report(database: Path, *, month: date | None = None) -> str:
    """The readback of the published snapshot `database` as one HTML document."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    with duckdb.connect(str(database), read_only=True) as con:
        month = month or report_month(con)
        log = _rows(con, "select run_id, logical_date, published_at from main.publish_log order by published_at desc "
                         "limit 1") if _has(con, "main", "publish_log") else []
        readback = _rows(con, "select * from marts.channel_readback_monthly where month = ? order by net_revenue desc",
                         [month])
        flags = _rows(con, "select * from marts.channel_flags where grain = 'month' and period_start = ? "
                           "order by flag_priority, channel", [month])
        pnl = _rows(con, "select * from marts.channel_pnl_monthly where month = ? order by channel", [month])
        monthly = _rows(con, "select channel, month, net_revenue, contribution_after_opex from "
                             "marts.channel_readback_monthly order by month, channel")
        daily = _rows(con, """
            select channel, date, cast(order_gross_sales - order_discounts + order_shipping_income as double) as revenue,
                   cast(marketing_spend as double) as marketing_spend
            from marts.channel_kpis_daily order by channel, date""")
        anomalies = _rows(con, "select * from marts.channel_anomalies_daily where is_anomaly order by date")
        recon = inventory = sla = None
        if _has(con, "marts", "channel_pnl_reconciled"):
            cols = _columns(con, "marts", "channel_pnl_reconciled")
            wanted = [c for c in ("channel", "month", "reconciliation_status", "payouts", "unexplained_rc",
                                  "net_revenue", "contribution_after_opex") if c in cols]
            where = "where month = ?" if "month" in cols else ""
            recon = _rows(con, f"select {', '.join(wanted) or '*'} from marts.channel_pnl_reconciled {where} "
                               f"order by 1", [month] if where else [])
        if _has(con, "marts", "inventory_kpis_monthly"):
            cols = _columns(con, "marts", "inventory_kpis_monthly")
            where = "where month = ?" if "month" in cols else ""
            inventory = _rows(con, f"select * from marts.inventory_kpis_monthly {where} limit 60",
                              [month] if where else [])
        if _has(con, "ops", "feed_sla_status"):
            sla = _rows(con, "select * from ops.feed_sla_status")
    if month is None:
        raise ValueError("the published snapshot has no readback rows")
    parts: list[str] = []
    first = True

    # ---- waterfall ------------------------------------------------------------------------------
    channels = [r["channel"] for r in pnl]
    fig = go.Figure()
    totals = defaultdict(float)
    for r in pnl:
        for _, col, _ in PNL_STEPS:
            totals[col] += float(r[col])
    series = [("all channels", totals)] + [(r["channel"], {c: float(r[c]) for _, c, _ in PNL_STEPS}) for r in pnl]
    for i, (name, values) in enumerate(series):
        x = [label for label, _, _ in PNL_STEPS] + ["Contribution after opex"]
        y = [sign * values[col] for _, col, sign in PNL_STEPS] + [0]
        fig.add_trace(go.Waterfall(name=name, x=x, y=y, measure=["absolute"] + ["relative"] * (len(PNL_STEPS) - 1)
                                   + ["total"], visible=(i == 0), connector=dict(line=dict(color="#9fb3c8")),
                                   decreasing=dict(marker=dict(color="#e12d39")),
                                   increasing=dict(marker=dict(color="#3ebd93")),
                                   totals=dict(marker=dict(color="#2680c2"))))
    fig.update_layout(title=f"Contribution waterfall, {month:%B %Y}", height=420, showlegend=False,
                      updatemenus=[dict(buttons=[dict(label=name, method="update",
                                                      args=[{"visible": [j == i for j in range(len(series))]}])
                                                 for i, (name, _) in enumerate(series)],
                                        x=1.0, xanchor="right", y=1.15, yanchor="top")])
    waterfall = _figure(fig, first, "waterfall")
    first = False

    # ---- shares ---------------------------------------------------------------------------------
    fig = go.Figure()
    names = [r["channel"] for r in readback]
    for key, label, color in (("revenue_share", "revenue share", "#2680c2"),
                              ("operating_cost_share", "operating-cost share", "#e12d39"),
                              ("contribution_share", "contribution share", "#3ebd93")):
        fig.add_trace(go.Bar(name=label, x=names, y=[float(r[key] or 0) for r in readback], marker_color=color))
    fig.update_layout(title="Share of revenue vs share of operating cost", barmode="group", height=380,
                      yaxis=dict(tickformat=".0%"))
    shares = _figure(fig, first, "shares")

    # ---- trends with anomalies --------------------------------------------------------------------
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("Daily order revenue (anomalies marked)", "Daily marketing spend"))
    by_channel = defaultdict(list)
    for r in daily:
        by_channel[r["channel"]].append(r)
    values = {(r["channel"], r["date"]): r for r in daily}
    for ch, rows in by_channel.items():
        fig.add_trace(go.Scatter(x=[r["date"] for r in rows], y=[r["revenue"] for r in rows], mode="lines",
                                 name=ch, legendgroup=ch), row=1, col=1)
        fig.add_trace(go.Scatter(x=[r["date"] for r in rows], y=[r["marketing_spend"] for r in rows], mode="lines",
                                 name=ch, legendgroup=ch, showlegend=False), row=2, col=1)
    for row_no, metrics in ((1, ("revenue", "orders", "aov", "conversion_rate")), (2, ("marketing_spend",))):
        marks = [a for a in anomalies if a["metric"] in metrics]
        if marks:
            key = "revenue" if row_no == 1 else "marketing_spend"
            fig.add_trace(go.Scatter(
                x=[a["date"] for a in marks], y=[values[(a["channel"], a["date"])][key] for a in marks],
                mode="markers", name="anomaly", legendgroup="anomaly", showlegend=row_no == 1,
                marker=dict(symbol="x", size=12, color="#e12d39", line=dict(width=2)),
                text=[f"{a['channel']} {a['metric']} {a['direction']}: {a['value']:,.2f} vs {a['baseline_median']:,.2f}"
                      f" (z {a['z_score']:+.1f})" if a["z_score"] is not None else f"{a['channel']} {a['metric']}"
                      for a in marks], hoverinfo="text+x"), row=row_no, col=1)
    fig.update_layout(height=560, title="Trends")
    trends = _figure(fig, first, "trends")

    fig = go.Figure()
    months_by_channel = defaultdict(list)
    for r in monthly:
        months_by_channel[r["channel"]].append(r)
    for ch, rows in months_by_channel.items():
        fig.add_trace(go.Scatter(x=[r["month"] for r in rows], y=[float(r["net_revenue"]) for r in rows],
                                 mode="lines+markers", name=f"{ch} net revenue"))
        fig.add_trace(go.Scatter(x=[r["month"] for r in rows], y=[float(r["contribution_after_opex"]) for r in rows],
                                 mode="lines+markers", name=f"{ch} contribution", line=dict(dash="dot")))
    fig.update_layout(title="Monthly net revenue and contribution after opex", height=420)
    monthly_fig = _figure(fig, first, "monthly")

    # ---- assemble ---------------------------------------------------------------------------------
    run = log[0] if log else {}
    parts.append(f"<h1>Channel readback — {month:%B %Y}</h1>")
    parts.append(f'<p class="meta">Published snapshot: run {_e(run.get("run_id", "n/a"))}, logical date '
                 f'{_e(run.get("logical_date", "n/a"))}, published {_e(run.get("published_at", "n/a"))}. '
                 f"Money in the reporting currency. Definitions: docs/metrics.md.</p>")
    parts.append("<h2>Flags and next actions</h2>")
    rows = []
    for r in readback:
        chips = "".join(f'<span class="flag">{_e(FLAG_LABELS.get(f, f))}</span>'
                        for f in (r["flags"] or "").split(",") if f) or '<span class="ok">none</span>'
        rows.append(f"<tr><td>{_e(r['channel_name'])}</td><td>{_e(r['owner'])}</td>"
                    f"<td class=\"num\">{_money(r['net_revenue'])}</td><td class=\"num\">{_money(r['contribution_after_opex'])}</td>"
                    f"<td class=\"num\">{_pct(r['cm3_pct'])}</td><td>{chips}</td>"
                    f"<td>{_e(r['next_action'])}</td></tr>")
    parts.append("<table id=\"next-actions\"><thead><tr><th>channel</th><th>owner</th><th>net revenue</th>"
                 "<th>contribution after opex</th><th>cm3 %</th><th>flags</th><th>next action</th></tr></thead>"
                 f"<tbody>{''.join(rows)}</tbody></table>")
    parts.append("<h3>Evidence</h3>")
    parts.append(_table(flags, ["channel", "flag", "subject", "evidence"]).replace("<table>", '<table id="flags">', 1))
    parts.append("<h2>Contribution</h2>" + waterfall + shares)
    parts.append("<h2>Trends</h2>" + trends + monthly_fig)
    parts.append("<h2>Revenue against target: drivers</h2>")
    parts.append('<p class="note">gap = orders effect (traffic + conversion) + value-per-order effect, exactly; '
                 "targets prorated to the days the data covers.</p>")
    money_cols = ["net_revenue", "revenue_target", "revenue_gap", "orders_effect", "traffic_effect",
                  "conversion_effect", "aov_effect"]
    parts.append(_table(readback, ["channel"] + money_cols, set(money_cols), {c: _money for c in money_cols}))
    parts.append("<h2>Reconciliation status</h2>")
    if recon is None:
        parts.append('<p class="note">This snapshot has no payout reconciliation (marts.channel_pnl_reconciled).</p>')
    else:
        parts.append(_table(recon))
    if inventory is not None:  # stockouts, dead stock, mismatches, allocations: orchestration/outputs/inventory_report.py
        from orchestration.outputs.inventory_report import inventory_section
        parts.append(inventory_section(database, month))
    parts.append("<h2>Feed SLA status</h2>")
    if sla is None:
        parts.append('<p class="note">No feed status in this snapshot.</p>')
    else:
        keep = [c for c in ("feed", "owner", "state", "since", "last_event", "lag_hours", "sla_hours",
                            "failures_30d", "why") if sla and c in sla[0]]
        parts.append(_table(sla, keep or None))
    body = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Channel readback {month:%Y-%m}</title><style>{CSS}</style></head>"
            f"<body>\n{body}\n</body></html>\n")


def write_report(database: Path, out: Path, *, month: date | None = None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(render_report(database, month=month), encoding="utf-8")
    os.replace(tmp, out)
    return out


def write_on_publish(home, logical_date: date) -> list[Path]:
    """After a successful publish: outputs/readback_<logical date>.html and readback_latest.html,
    and the digest of the last complete week. A failure here never undoes the publish: it is
    reported and the paths written so far are returned."""
    from connectors.home import published_database

    written: list[Path] = []
    try:
        outputs = home.root / "outputs"
        dated = write_report(published_database(home), outputs / f"readback_{logical_date.isoformat()}.html")
        written.append(dated)
        latest = outputs / "readback_latest.html"
        tmp = latest.with_name(f".{latest.name}.{os.getpid()}.tmp")
        tmp.write_bytes(dated.read_bytes())
        os.replace(tmp, latest)
        written.append(latest)
        written.append(write_digest(published_database(home), outputs))
    except Exception as err:  # noqa: BLE001  the publish stands; the report says why it is missing
        print(f"readback report not written: {err}")
    return written


# ---- weekly digest ------------------------------------------------------------------------------
def digest_week(con, week: date | None) -> date | None:
    if week is not None:
        return week - timedelta(days=week.weekday())
    row = con.execute("select max(week_start) from marts.channel_readback_weekly where is_complete").fetchone()
    return row[0]


def render_digest(database: Path, week: date | None = None) -> tuple[date, str]:
    """The weekly digest (Markdown): per channel owner, what changed this week, the flags (this
    week's and the standing ones of the latest complete month) and the next action."""
    with duckdb.connect(str(database), read_only=True) as con:
        week = digest_week(con, week)
        if week is None:
            raise ValueError("the published snapshot has no weekly readback")
        weekly = _rows(con, "select * from marts.channel_readback_weekly where week_start = ? order by owner, channel",
                       [week])
        month = con.execute("select max(month) from marts.channel_readback_monthly where is_complete and month <= ?",
                            [week]).fetchone()[0]
        standing = _rows(con, "select * from marts.channel_flags where grain = 'month' and period_start = ? "
                              "and flag in ('retire_candidate', 'attention_without_contribution', 'margin_floor_breach') "
                              "order by flag_priority", [month]) if month else []
        weekly_flags = _rows(con, "select * from marts.channel_flags where grain = 'week' and period_start = ? "
                                  "order by flag_priority", [week])
    lines = [f"# Weekly channel digest — week of {week.isoformat()}", "",
             f"From the published warehouse. Standing flags are of {month:%B %Y}." if month else
             "From the published warehouse.", ""]
    by_owner = defaultdict(list)
    for r in weekly:
        by_owner[r["owner"]].append(r)
    for owner, rows in by_owner.items():
        lines += [f"## {owner}", ""]
        for r in rows:
            ch = r["channel"]
            change = _pct(r["net_revenue_change_pct"]) if r["net_revenue_change_pct"] is not None else "n/a"
            sign = "+" if (r["net_revenue_change_pct"] or 0) > 0 else ""
            lines.append(f"### {r['channel_name']}")
            lines.append("")
            lines.append(f"- **What changed:** net revenue {_money(r['net_revenue'])} ({sign}{change} week over "
                         f"week), contribution after opex {_money(r['contribution_after_opex'])} "
                         f"({'+' if (r['contribution_change'] or 0) > 0 else ''}{_money(r['contribution_change'])}), "
                         f"{r['orders']} orders, AOV {_money(r['aov'])}"
                         + (f", conversion {_pct(r['conversion_rate'])}" if r["conversion_rate"] is not None else "")
                         + (f"; {'+' if r['revenue_gap'] > 0 else ''}{_money(r['revenue_gap'])} against the target" if r["revenue_gap"] is not None else ""))
            mine = [f for f in weekly_flags if f["channel"] == ch] + [f for f in standing if f["channel"] == ch]
            if mine:
                lines.append("- **Flags:**")
                for f in mine:
                    scope = "this week" if f["grain"] == "week" else f"{f['period_start']:%B}"
                    lines.append(f"  - `{f['flag']}` ({scope}): {f['evidence']}")
            else:
                lines.append("- **Flags:** none")
            actions = [f["evidence"] for f in standing if f["channel"] == ch]
            if r["flag_count"]:
                action = r["next_action"]
                if actions:
                    action = action.replace(f"; owner: {owner}", "; " + "; ".join(actions) + f"; owner: {owner}")
            elif actions:
                action = f"Review {r['channel_name']}: " + "; ".join(actions) + f"; owner: {owner}"
            else:
                action = r["next_action"]
            lines += [f"- **Next action:** {action}", ""]
    return week, "\n".join(lines).rstrip() + "\n"


def write_digest(database: Path, outputs: Path, week: date | None = None, out: Path | None = None) -> Path:
    week, text = render_digest(database, week)
    out = out or outputs / f"digest_{week.isoformat()}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
