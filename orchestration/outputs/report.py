"""The operator's readback as one self-contained HTML file (the weekly digest: digest.py).

It reads the **published** snapshot (`warehouse/published.duckdb`, read-only), never the build:
what it shows is what passed the audit. This module queries the snapshot and draws the charts; the
page is templates/readback.html (Jinja, autoescaped: every value is escaped). The HTML works
offline: plotly.js is inlined once, no CDN, no web fonts, no external links.

Sections of the report (the month shown is the last complete month, or `month=`):
- the flags table with each channel's next action (channel_readback_monthly, channel_flags) and
  the pricing notes where channels' price elasticities differ materially (pricing.py);
- the contribution waterfall, gross sales → contribution after opex (all channels, or one channel
  from the dropdown);
- each channel's share of revenue against its share of operating costs (and of contribution);
- daily trends (order revenue and marketing spend) with the anomalies of channel_anomalies_daily
  marked, and the monthly net revenue and contribution after opex;
- the revenue gap to target and its drivers (orders = traffic + conversion, value per order);
- reconciliation status (marts.channel_pnl_reconciled) and inventory (marts.inventory_kpis_monthly)
  when the published snapshot has them; the demand forecast (forecast_report.py: forecast vs actual
  over the last weeks, the backtest's accuracy table); feed SLA status (ops.feed_sla_status).

Reading aids: the reporting currency is named in the header and on every money axis; each channel
keeps one colour in every chart and in the ranking of contribution after opex (charts.py: the
order of seeds/channels.csv, `unallocated` grey); chart data is rounded to the cent.

Size: plotly.js (4.8 MB minified, in the plotly package) is most of the page. It is embedded once,
gzip-compressed and base64-encoded (1.9 MB), and unpacked by the browser's own DecompressionStream
before the figures (plain JSON beside their <div>) are drawn: the page went from 4.9 MB to about
2 MB and still needs no network. Browsers without DecompressionStream (before Chrome 80, Firefox
113, Safari 16.4) show the tables and a note instead of the charts.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import date
from pathlib import Path

import duckdb

from orchestration.outputs.charts import channel_colours, embedded_plotly_js, figure_json, round_money
from orchestration.outputs.digest import write_digest
from orchestration.outputs.forecast_report import forecast_chart, forecast_data
from orchestration.outputs.formatting import columns, has_table, render, rows
from orchestration.outputs.inventory_report import inventory_data
from orchestration.outputs.pricing import pricing_notes
from orchestration.outputs.snapshot import read_snapshot

PNL_STEPS = [  # (label, column, sign): the waterfall from gross sales to contribution after opex
    ("Gross sales", "gross_sales", 1), ("Discounts", "discounts", -1), ("Returns", "returns", -1),
    ("Shipping income", "shipping_income", 1), ("COGS", "cogs", -1), ("Fulfillment", "fulfillment_costs", -1),
    ("Payment fees", "payment_fees", -1), ("Marketplace fees", "marketplace_fees", -1),
    ("Reimbursements", "reimbursements", 1),  # drawn when the snapshot's P&L has the line
    ("Marketing", "marketing_spend", -1), ("Operating costs", "operating_costs", -1),
]
FLAG_LABELS = {
    "retire_candidate": "retire candidate", "attention_without_contribution": "attention without contribution",
    "margin_floor_breach": "margin floor breach", "price_inconsistency": "price inconsistency",
    "promo_collision": "promo collision", "anomaly": "anomaly",
}


def _figure(fig) -> str:
    """The figure as JSON for the page's loader (templates/readback.html), data rounded to the cent."""
    fig.update_layout(font=dict(family="system-ui, sans-serif", size=12), margin=dict(l=60, r=20, t=50, b=50),
                      template="plotly_white", separators=".,")
    return figure_json(fig)


def report_month(con) -> date | None:
    row = con.execute("select max(month) from marts.channel_readback_monthly where is_complete").fetchone()
    if row[0] is None:
        row = con.execute("select max(month) from marts.channel_readback_monthly").fetchone()
    return row[0]


def render_report(database: Path, *, month: date | None = None) -> str:
    """The readback of the published snapshot `database` as one HTML document."""
    data = _read(database, month)
    month, readback, snapshot = data["month"], data["readback"], data["snapshot"]
    currency = snapshot.reporting_currency
    colours = channel_colours([r["channel"] for r in data["pnl"]] + [r["channel"] for r in data["monthly"]])
    charts = {
        "waterfall": _figure(_waterfall(data["pnl"], month, currency, data["names"])),
        "shares": _figure(_shares(data["pnl"], data["names"], colours)),
        "trends": _figure(_trends(data["daily"], data["anomalies"], colours, currency, data["names"])),
        "monthly": _figure(_monthly(data["monthly"], colours, currency, data["names"])),
    }
    if data["forecast"] and data["forecast"]["backtest"]:
        charts["forecast"] = _figure(forecast_chart(data["forecast"]["backtest"], colours, data["names"]))
    return render("readback.html", month=month, snapshot=snapshot, readback=readback, flags=data["flags"],
                  charts=charts, plotly_js=embedded_plotly_js(), recon=data["recon"], inventory=data["inventory"],
                  sla=data["sla"], flag_labels=FLAG_LABELS, colours=colours,
                  ranking=contribution_ranking(data["pnl"], data["names"]), status=period_status(data["pnl"]),
                  pricing=data["pricing"], forecast=data["forecast"])


def period_status(pnl: list[dict]) -> dict:
    """The month's channels that are not final (open or provisional) and its accrued fees, the
    estimated part of the fee lines (docs/metrics.md "Accrued fees")."""
    not_final = {r["channel"]: r["period_status"] for r in pnl if r.get("period_status", "closed") != "closed"}
    accrued = sum((r.get("accrued_marketplace_fees") or 0) + (r.get("accrued_fulfillment_costs") or 0) for r in pnl)
    return {"not_final": not_final, "accrued_fees": accrued}


def contribution_ranking(pnl: list[dict], names: dict[str, str]) -> dict:
    """Channels by contribution after opex, best first (`unallocated` among them), and their total."""
    ranked = sorted(pnl, key=lambda r: (-float(r["contribution_after_opex"]), r["channel"]))
    rows_ = [{"rank": i, "channel": r["channel"], "name": names.get(r["channel"], r["channel"]),
              "net_revenue": r["net_revenue"], "cm3": r["cm3"], "contribution_after_opex": r["contribution_after_opex"],
              "cm3_pct": r["cm3_pct"], "contribution_share": r["contribution_share"]}
             for i, r in enumerate(ranked, start=1)]
    total = {key: sum(r[key] for r in pnl) for key in ("net_revenue", "cm3", "contribution_after_opex")}
    total["cm3_pct"] = float(total["cm3"]) / float(total["net_revenue"]) if total["net_revenue"] else None
    return {"rows": rows_, "total": total}


def _read(database: Path, month: date | None) -> dict:
    """Every table the readback shows, for `month` (default: the last complete one)."""
    with duckdb.connect(str(database), read_only=True) as con:
        month = month or report_month(con)
        if month is None:
            raise ValueError("the published snapshot has no readback rows")
        return {
            "month": month,
            "snapshot": read_snapshot(con),
            "names": {r["channel"]: r["channel_name"] for r in rows(con, "select channel, channel_name from "
                                                                         "marts.dim_channel")}
            if has_table(con, "marts", "dim_channel") else {},
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
            "forecast": forecast_data(con),  # None without the forecast marts
            "pricing": pricing_notes(rows(con, "select * from marts.price_elasticity"))
            if has_table(con, "marts", "price_elasticity") else [],
        }


def _reconciliation(con, month: date) -> list[dict] | None:
    if not has_table(con, "marts", "channel_pnl_reconciled"):
        return None
    present = columns(con, "marts", "channel_pnl_reconciled")
    wanted = [c for c in ("channel", "month", "period_status", "reconciliation_status", "payouts", "unexplained_rc",
                          "net_revenue", "accrued_marketplace_fees", "accrued_fulfillment_costs",
                          "contribution_after_opex") if c in present]
    where = "where month = ?" if "month" in present else ""
    return rows(con, f"select {', '.join(wanted) or '*'} from marts.channel_pnl_reconciled {where} order by 1",
                [month] if where else [])


def _waterfall(pnl: list[dict], month: date, currency: str, names: dict[str, str]):
    """Gross sales → contribution after opex, all channels, or one channel from the dropdown."""
    import plotly.graph_objects as go

    steps = [step for step in PNL_STEPS if not pnl or step[1] in pnl[0]]
    fig = go.Figure()
    totals = defaultdict(float)
    for r in pnl:
        for _, col, _ in steps:
            totals[col] += float(r[col])
    series = [("all channels", totals)] + [(names.get(r["channel"], r["channel"]),
                                            {c: float(r[c]) for _, c, _ in steps}) for r in pnl]
    for i, (name, values) in enumerate(series):
        x = [label for label, _, _ in steps] + ["Contribution after opex"]
        y = [round_money(sign * values[col]) for _, col, sign in steps] + [0]
        fig.add_trace(go.Waterfall(name=name, x=x, y=y, measure=["absolute"] + ["relative"] * (len(steps) - 1)
                                   + ["total"], visible=(i == 0), connector=dict(line=dict(color="#9fb3c8")),
                                   decreasing=dict(marker=dict(color="#e12d39")),
                                   increasing=dict(marker=dict(color="#3ebd93")),
                                   totals=dict(marker=dict(color="#2680c2")),
                                   hovertemplate=f"%{{x}}: %{{y:,.2f}} {currency}<extra>{name}</extra>"))
    fig.update_layout(title=f"Contribution waterfall, {month:%B %Y} ({currency})", height=440, showlegend=False,
                      yaxis=dict(title=dict(text=currency), tickformat=",.0f"),
                      xaxis=dict(title=dict(text="P&L line")),
                      updatemenus=[dict(buttons=[dict(label=name, method="update",
                                                      args=[{"visible": [j == i for j in range(len(series))]}])
                                                 for i, (name, _) in enumerate(series)],
                                        x=1.0, xanchor="right", y=1.15, yanchor="top")])
    return fig


def _shares(pnl: list[dict], names: dict[str, str], colours: dict[str, str]):
    """Each channel's share of revenue, of operating costs and of contribution: one colour per channel."""
    import plotly.graph_objects as go

    measures = (("revenue_share", "Revenue"), ("operating_cost_share", "Operating costs"),
                ("contribution_share", "Contribution after opex"))
    fig = go.Figure()
    for r in sorted(pnl, key=lambda r: list(colours).index(r["channel"])):
        fig.add_trace(go.Bar(name=names.get(r["channel"], r["channel"]), legendgroup=r["channel"],
                             x=[label for _, label in measures],
                             y=[round(float(r[key] or 0), 4) for key, _ in measures],
                             marker_color=colours[r["channel"]], hovertemplate="%{x}: %{y:.1%}"))
    fig.update_layout(title="Each channel's share of revenue, operating costs and contribution", barmode="group",
                      height=400, yaxis=dict(title=dict(text="share of the company total"), tickformat=".0%"),
                      xaxis=dict(title=dict(text="measure")))
    return fig


def _by_channel(rows_: list[dict], colours: dict[str, str]) -> dict[str, list[dict]]:
    """Rows grouped by channel, the channels in their colour order (the seed's)."""
    grouped = defaultdict(list)
    for r in rows_:
        grouped[r["channel"]].append(r)
    return {ch: grouped[ch] for ch in sorted(grouped, key=list(colours).index)}


def _trends(daily: list[dict], anomalies: list[dict], colours: dict[str, str], currency: str,
            names: dict[str, str]):
    """Daily order revenue and marketing spend per channel, the anomalies marked."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=(f"Daily order revenue ({currency}; anomalies marked)",
                                        f"Daily marketing spend ({currency})"))
    values = {(r["channel"], r["date"]): r for r in daily}
    for ch, series in _by_channel(daily, colours).items():
        line, name = dict(color=colours[ch], width=1.6), names.get(ch, ch)
        hover = f"%{{x|%a %d %b}}: %{{y:,.2f}} {currency}"
        fig.add_trace(go.Scatter(x=[r["date"] for r in series], y=[round_money(r["revenue"]) for r in series],
                                 mode="lines", name=name, legendgroup=ch, line=line, hovertemplate=hover),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=[r["date"] for r in series], y=[round_money(r["marketing_spend"]) for r in series],
                                 mode="lines", name=name, legendgroup=ch, showlegend=False, line=line,
                                 hovertemplate=hover), row=2, col=1)
    for row_no, metrics in ((1, ("revenue", "orders", "aov", "conversion_rate")), (2, ("marketing_spend",))):
        marks = [a for a in anomalies if a["metric"] in metrics]
        if marks:
            key = "revenue" if row_no == 1 else "marketing_spend"
            fig.add_trace(go.Scatter(
                x=[a["date"] for a in marks], y=[round_money(values[(a["channel"], a["date"])][key]) for a in marks],
                mode="markers", name="anomaly", legendgroup="anomaly", showlegend=row_no == 1,
                marker=dict(symbol="x", size=12, color="#1f2933", line=dict(width=2)),
                text=[_anomaly_label(a) for a in marks], hoverinfo="text+x"), row=row_no, col=1)
    fig.update_layout(height=580, title="Trends")
    fig.update_yaxes(title_text=currency, tickformat=",.0f")
    fig.update_xaxes(title_text="day", row=2, col=1)
    return fig


def _anomaly_label(a: dict) -> str:
    if a["z_score"] is None:
        return f"{a['channel']} {a['metric']}"
    return (f"{a['channel']} {a['metric']} {a['direction']}: {a['value']:,.2f} vs {a['baseline_median']:,.2f}"
            f" (z {a['z_score']:+.1f})")


def _monthly(monthly: list[dict], colours: dict[str, str], currency: str, names: dict[str, str]):
    """Monthly net revenue (solid) and contribution after opex (dotted) per channel, in its colour."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for ch, series in _by_channel(monthly, colours).items():
        months, name = [r["month"] for r in series], names.get(ch, ch)
        hover = f"%{{x|%b %Y}}: %{{y:,.2f}} {currency}"
        fig.add_trace(go.Scatter(x=months, y=[round_money(r["net_revenue"]) for r in series], mode="lines+markers",
                                 name=f"{name}: net revenue", legendgroup=ch, line=dict(color=colours[ch]),
                                 hovertemplate=hover))
        fig.add_trace(go.Scatter(x=months, y=[round_money(r["contribution_after_opex"]) for r in series],
                                 mode="lines+markers", name=f"{name}: contribution", legendgroup=ch,
                                 line=dict(color=colours[ch], dash="dot"), hovertemplate=hover))
    fig.update_layout(title=f"Monthly net revenue (solid) and contribution after opex (dotted), {currency}",
                      height=440, yaxis=dict(title=dict(text=currency), tickformat=",.0f"),
                      xaxis=dict(title=dict(text="month"), tickformat="%b %Y", dtick="M1"))
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
