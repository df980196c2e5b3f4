"""The operator's readback as one self-contained HTML file (the weekly digest: digest.py).

It reads the **published** snapshot (`warehouse/published.duckdb`, read-only), never the build:
what it shows is what passed the audit. This module queries the snapshot and draws the charts; the
page is templates/readback.html (Jinja, autoescaped: every value is escaped). The HTML works
offline: plotly.js is inlined once, no CDN, no web fonts, no external links.

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

import os
from collections import defaultdict
from datetime import date
from pathlib import Path

import duckdb

from orchestration.outputs.digest import write_digest
from orchestration.outputs.formatting import columns, has_table, render, rows
from orchestration.outputs.inventory_report import inventory_data

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
    data = _read(database, month)
    month, readback = data["month"], data["readback"]
    charts = {  # plotly.js is inlined with the first chart only
        "waterfall": _figure(_waterfall(data["pnl"], month), True, "waterfall"),
        "shares": _figure(_shares(readback), False, "shares"),
        "trends": _figure(_trends(data["daily"], data["anomalies"]), False, "trends"),
        "monthly": _figure(_monthly(data["monthly"]), False, "monthly"),
    }
    return render("readback.html", month=month, run=data["log"][0] if data["log"] else {}, readback=readback,
                  flags=data["flags"], charts=charts, recon=data["recon"], inventory=data["inventory"],
                  sla=data["sla"], flag_labels=FLAG_LABELS)


def _read(database: Path, month: date | None) -> dict:
    """Every table the readback shows, for `month` (default: the last complete one)."""
    with duckdb.connect(str(database), read_only=True) as con:
        month = month or report_month(con)
        if month is None:
            raise ValueError("the published snapshot has no readback rows")
        return {
            "month": month,
            "log": rows(con, "select run_id, logical_date, published_at from main.publish_log "
                             "order by published_at desc limit 1") if has_table(con, "main", "publish_log") else [],
            "readback": rows(con, "select * from marts.channel_readback_monthly where month = ? "
                                  "order by net_revenue desc", [month]),
            "flags": rows(con, "select * from marts.channel_flags where grain = 'month' and period_start = ? "
                               "order by flag_priority, channel", [month]),
            "pnl": rows(con, "select * from marts.channel_pnl_monthly where month = ? order by channel", [month]),
            "monthly": rows(con, "select channel, month, net_revenue, contribution_after_opex from "
                                 "marts.channel_readback_monthly order by month, channel"),
            "daily": rows(con, """
                select channel, date,
                       cast(order_gross_sales - order_discounts + order_shipping_income as double) as revenue,
                       cast(marketing_spend as double) as marketing_spend
                from marts.channel_kpis_daily order by channel, date"""),
            "anomalies": rows(con, "select * from marts.channel_anomalies_daily where is_anomaly order by date"),
            "recon": _reconciliation(con, month),
            # stockouts, dead stock, mismatches, allocations: inventory_report.py
            "inventory": inventory_data(con, month) if has_table(con, "marts", "inventory_kpis_monthly") else None,
            "sla": rows(con, "select * from ops.feed_sla_status") if has_table(con, "ops", "feed_sla_status") else None,
        }


def _reconciliation(con, month: date) -> list[dict] | None:
    if not has_table(con, "marts", "channel_pnl_reconciled"):
        return None
    present = columns(con, "marts", "channel_pnl_reconciled")
    wanted = [c for c in ("channel", "month", "reconciliation_status", "payouts", "unexplained_rc",
                          "net_revenue", "contribution_after_opex") if c in present]
    where = "where month = ?" if "month" in present else ""
    return rows(con, f"select {', '.join(wanted) or '*'} from marts.channel_pnl_reconciled {where} order by 1",
                [month] if where else [])


def _waterfall(pnl: list[dict], month: date):
    """Gross sales → contribution after opex, all channels, or one channel from the dropdown."""
    import plotly.graph_objects as go

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
    return fig


def _shares(readback: list[dict]):
    """Each channel's share of revenue against its share of operating costs (and of contribution)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    names = [r["channel"] for r in readback]
    for key, label, color in (("revenue_share", "revenue share", "#2680c2"),
                              ("operating_cost_share", "operating-cost share", "#e12d39"),
                              ("contribution_share", "contribution share", "#3ebd93")):
        fig.add_trace(go.Bar(name=label, x=names, y=[float(r[key] or 0) for r in readback], marker_color=color))
    fig.update_layout(title="Share of revenue vs share of operating cost", barmode="group", height=380,
                      yaxis=dict(tickformat=".0%"))
    return fig


def _trends(daily: list[dict], anomalies: list[dict]):
    """Daily order revenue and marketing spend per channel, the anomalies marked."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("Daily order revenue (anomalies marked)", "Daily marketing spend"))
    by_channel = defaultdict(list)
    for r in daily:
        by_channel[r["channel"]].append(r)
    values = {(r["channel"], r["date"]): r for r in daily}
    for ch, series in by_channel.items():
        fig.add_trace(go.Scatter(x=[r["date"] for r in series], y=[r["revenue"] for r in series], mode="lines",
                                 name=ch, legendgroup=ch), row=1, col=1)
        fig.add_trace(go.Scatter(x=[r["date"] for r in series], y=[r["marketing_spend"] for r in series],
                                 mode="lines", name=ch, legendgroup=ch, showlegend=False), row=2, col=1)
    for row_no, metrics in ((1, ("revenue", "orders", "aov", "conversion_rate")), (2, ("marketing_spend",))):
        marks = [a for a in anomalies if a["metric"] in metrics]
        if marks:
            key = "revenue" if row_no == 1 else "marketing_spend"
            fig.add_trace(go.Scatter(
                x=[a["date"] for a in marks], y=[values[(a["channel"], a["date"])][key] for a in marks],
                mode="markers", name="anomaly", legendgroup="anomaly", showlegend=row_no == 1,
                marker=dict(symbol="x", size=12, color="#e12d39", line=dict(width=2)),
                text=[_anomaly_label(a) for a in marks], hoverinfo="text+x"), row=row_no, col=1)
    fig.update_layout(height=560, title="Trends")
    return fig


def _anomaly_label(a: dict) -> str:
    if a["z_score"] is None:
        return f"{a['channel']} {a['metric']}"
    return (f"{a['channel']} {a['metric']} {a['direction']}: {a['value']:,.2f} vs {a['baseline_median']:,.2f}"
            f" (z {a['z_score']:+.1f})")


def _monthly(monthly: list[dict]):
    """Monthly net revenue and contribution after opex per channel."""
    import plotly.graph_objects as go

    fig = go.Figure()
    months_by_channel = defaultdict(list)
    for r in monthly:
        months_by_channel[r["channel"]].append(r)
    for ch, series in months_by_channel.items():
        fig.add_trace(go.Scatter(x=[r["month"] for r in series], y=[float(r["net_revenue"]) for r in series],
                                 mode="lines+markers", name=f"{ch} net revenue"))
        fig.add_trace(go.Scatter(x=[r["month"] for r in series],
                                 y=[float(r["contribution_after_opex"]) for r in series],
                                 mode="lines+markers", name=f"{ch} contribution", line=dict(dash="dot")))
    fig.update_layout(title="Monthly net revenue and contribution after opex", height=420)
    return fig


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
