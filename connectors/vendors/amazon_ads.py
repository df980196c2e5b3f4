"""Amazon Ads: the Sponsored Products campaign report (reporting API v3, daily time unit), as CSV.

Attributed metrics come per attribution window in the header (`purchases7d`, `sales14d`,
`unitsSoldClicks30d`…; windows 1d/7d/14d/30d). The connector reads one window and records it in
`attribution_window`: when a report carries several, it takes 7d (Amazon's default for Sponsored
Products), else 14d, 30d, then 1d. A report whose purchases, sales and units only share no window
is rejected. The currency comes from `campaignBudgetCurrencyCode` when the report has it, else from
the `currency` feed option.

The Ads console download ("Sponsored Products Campaign report", as most sellers have it) is read too:
UTF-8 with BOM, `Date` as `Dec 1, 2019`, `Campaign Name`, `Status`, `Currency`, `Budget`, `Spend`,
`7 Day Total Orders (#)` / `14 Day …`, `7 Day Total Sales ` or `14 Day Total Sales (₹)` (quoted
headers with trailing spaces), money as `$3.34` or `Rs.201.68`, empty `Last Year …` columns. The
console has no campaign id: the key is the campaign name (unique within an advertiser profile). The
currency comes from the `Currency` column, else the symbol in a header (`(₹)`), else the
`--currency` option; a file whose amounts carry a symbol of another currency is refused. A report
without the `Date` column lands only when each row covers one day (`Start Date` = `End Date`);
otherwise it is refused: create it again with Time unit "Daily". Rows split by placement, ad group
or product are kept in `breakdown` and summed to the campaign and day in staging.

The reporting API delivers the report as gzipped JSON (a list of objects with these keys). The
engine reads delimited text only, so JSON is not accepted here: convert it to CSV first (e.g.
`duckdb -c "COPY (FROM 'report.json.gz') TO 'report.csv'"`).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors.engine import FileRejected, H, Header, P, VendorFormat
from connectors.registry_helpers import parse_table
from connectors.vendors.ad_platforms import (
    breakdown_inputs,
    currency_hint,
    fill_levels,
    label_breakdown,
    normalise_currency,
    round_decimals,
    set_constant,
    window_of,
)

FEED = "amazon_ads"
CAMPAIGN_TYPE = "Sponsored Products"
# preference when a report carries several attribution windows
WINDOWS = ("7d", "14d", "30d", "1d")
CURRENCY_HINT = currency_hint(
    FEED, "the report has no 'campaignBudgetCurrencyCode' column, so its currency is unknown "
          "(add the column to the report, or declare the marketplace currency)")


def _windowed(metric: str) -> tuple:
    """`purchases7d` first, then the other windows in order of preference, then any `purchasesNd`."""
    return tuple(P(rf"{metric}(?P<attribution_window>{w})") for w in WINDOWS) + (
        P(rf"{metric}(?P<attribution_window>\d+d)"),)


WINDOWED = {"conversions": "purchases", "conversion_value": "sales", "units_sold": "unitsSoldClicks"}
GRAIN = ("date", "campaign_name")


def _prepare(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    layout = state["layout"]
    if "window" not in state:
        used = {window_of(layout.mapping.get(c)) for c in WINDOWED} - {None}
        if len(used) > 1:
            headers = ", ".join(f"'{layout.mapping[c]}'" for c in WINDOWED if c in layout.mapping)
            raise FileRejected(
                f"{Path(state['path']).name}: the report's attributed metrics use different attribution "
                f"windows ({headers}); export purchases, sales and unitsSoldClicks for one window "
                f"(7d is Amazon's default for Sponsored Products)")
        state["window"] = used.pop() if used else None
    frame = frame.with_columns(pl.lit(state["window"], dtype=pl.String).alias("attribution_window"))
    frame = set_constant(frame, "campaign_type", CAMPAIGN_TYPE)
    frame = fill_levels(frame)
    frame = normalise_currency(frame, state)
    frame = label_breakdown(frame, state, GRAIN)
    frame = round_decimals(frame, "spend", 6)
    frame = round_decimals(frame, "conversion_value", 2)
    return round_decimals(frame, "campaign_budget_amount", 2)


# other metrics the v3 campaign report offers; known, so they are not reported as schema drift
UNREAD = (
    "campaignBudgetType", "campaignRuleBasedBudgetAmount", "campaignApplicableBudgetRuleId",
    "campaignApplicableBudgetRuleName", "campaignBiddingStrategy", "costPerClick",
    "clickThroughRate", "spend", "topOfSearchImpressionShare", "startDate", "endDate",
    "retailer", "addToList", "qualifiedBorrows", "royaltyQualifiedBorrows",
    *(f"{m}{w}" for w in WINDOWS for m in (
        "purchases", "sales", "unitsSoldClicks", "purchasesSameSku", "salesOtherSku",
        "unitsSoldSameSku", "unitsSoldOtherSku", "attributedSalesSameSku", "purchasesOtherSku",
        "salesSameSku", "kindleEditionNormalizedPagesRead", "kindleEditionNormalizedPagesRoyalties",
    )),
)

SP_CAMPAIGNS_CSV = VendorFormat(
    name="amazon_ads_sp_campaigns_csv",
    label="Amazon Ads Sponsored Products campaign report (CSV)",
    columns={
        "date": H("date"),
        "campaign_id": H("campaignId"),
        "campaign_name": H("campaignName"),
        "currency": H("campaignBudgetCurrencyCode"),
        "spend": H("cost"),
        "impressions": H("impressions"),
        "clicks": H("clicks"),
        "conversions": _windowed("purchases"),
        "conversion_value": _windowed("sales"),
        "campaign_status": H("campaignStatus"),
        "campaign_budget_amount": H("campaignBudgetAmount"),
        "units_sold": _windowed("unitsSoldClicks"),
    },
    derived=("ad_group_name", "ad_name", "campaign_type", "attribution_window", "breakdown"),
    prepare=_prepare,
    options={"currency": CURRENCY_HINT},
    known_headers=UNREAD,
)


# --------------------------------------------------------------------------------------------
# Ads console download

CONSOLE_CURRENCY_HINT = (
    "the report has no 'Currency' column and no currency symbol in its headers, so its currency is "
    "unknown: land it with the marketplace's currency, e.g. `cwh ingest amazon_ads FILE --currency USD` "
    "(or INR, GBP, EUR, CAD…), or set `amazon_ads: {currency: USD}` in config/feed_options.yml")
# header symbols that name one currency (`14 Day Total Sales (₹)`); `$` is several currencies
HEADER_SYMBOLS = {"₹": "INR", "£": "GBP", "€": "EUR", "¥": "JPY", "R$": "BRL", "Rs.": "INR", "Rs": "INR"}
# money prefixes in values, and the currency each one implies (None: several currencies use it)
VALUE_PREFIX = r"^\s*(?P<symbol>Rs\.?|₹|R\$|[A-Z]{0,2}\$|£|€|¥)\s*"
VALUE_SYMBOLS = {"rs.": "INR", "rs": "INR", "₹": "INR", "r$": "BRL", "£": "GBP", "€": "EUR", "¥": "JPY",
                 "ca$": "CAD", "c$": "CAD", "a$": "AUD", "au$": "AUD", "us$": "USD", "mx$": "MXN"}
CONSOLE_MONEY = ("spend", "conversion_value", "campaign_budget_amount")
DAILY_REPORT = "create the report again in the Ads console with Time unit \"Daily\" (the `Date` column)"


def _console_day(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    """`Dec 1, 2019` → `2019-12-01`; without `Date`, a row covering one day (Start = End Date)."""
    name = Path(state["path"]).name
    if "date" not in frame.columns:
        start, end = pl.col("start_date").str.strip_chars(), pl.col("end_date").str.strip_chars()
        ranges = frame.filter(start.is_not_null() & end.is_not_null() & (start != end))
        if ranges.height:
            row = ranges.row(0, named=True)
            raise FileRejected(f"{name}: line {row['_line']} covers {row['start_date']} to {row['end_date']} and the "
                               f"report has no 'Date' column, so its spend cannot be put on a day: {DAILY_REPORT}")
        frame = frame.with_columns(start.alias("date"))
    text = pl.col("date").str.strip_chars()
    spelled = text.str.strptime(pl.Date, "%b %d, %Y", strict=False).dt.strftime("%Y-%m-%d")
    return frame.with_columns(pl.coalesce(spelled, pl.col("date")).alias("date"))


def _console_money(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    """Strip `$`, `Rs.`, `₹`… from amounts after checking they agree with the file's currency."""
    name = Path(state["path"]).name
    for column in [c for c in CONSOLE_MONEY if c in frame.columns]:
        symbols = frame[column].str.extract(VALUE_PREFIX, 1).drop_nulls().unique().to_list()
        for symbol in symbols:
            implied = VALUE_SYMBOLS.get(symbol.lower())
            clash = frame.filter(pl.col(column).str.extract(VALUE_PREFIX, 1) == symbol)
            if implied and clash.filter(pl.col("currency").str.to_uppercase() != implied).height:
                row = clash.filter(pl.col("currency").str.to_uppercase() != implied).row(0, named=True)
                raise FileRejected(
                    f"{name}: line {row['_line']} has the amount '{row[column]}' in {implied} but the file's currency "
                    f"is {row['currency']}: land it with `cwh ingest amazon_ads FILE --currency {implied}`")
        frame = frame.with_columns(pl.col(column).str.replace(VALUE_PREFIX, "").alias(column))
    return frame


def _prepare_console(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    constants = state["layout"].constants
    if "attribution_window" in constants and not constants["attribution_window"].endswith("d"):
        constants["attribution_window"] = f"{constants['attribution_window']}d"  # `7 Day …` → 7d
    if "currency" in constants:
        constants["currency"] = HEADER_SYMBOLS.get(constants["currency"], constants["currency"])
    frame = _console_day(frame, state)
    frame = frame.with_columns(pl.lit(constants.get("attribution_window"), dtype=pl.String).alias("attribution_window"))
    frame = set_constant(frame, "campaign_type", CAMPAIGN_TYPE)
    frame = fill_levels(frame)
    frame = normalise_currency(frame, state)
    frame = _console_money(frame, state)
    frame = label_breakdown(frame, state, GRAIN)
    frame = frame.drop([c for c in ("start_date", "end_date") if c in frame.columns])
    frame = round_decimals(frame, "spend", 6)
    frame = round_decimals(frame, "conversion_value", 2)
    return round_decimals(frame, "campaign_budget_amount", 2)


def _console_windowed(what: str) -> Header:
    """`7 Day Total Orders (#)`, `14 Day Total Sales `, `14 Day Total Sales (₹)`: the window (and the
    currency symbol of a sales header) become constants of the file."""
    if what == "Sales":
        return P(r"(?P<attribution_window>\d+) Day Total Sales(?: \((?P<currency>[^)]+)\))?")
    return P(rf"(?P<attribution_window>\d+) Day Total {what}(?: \(#\))?")


SP_CONSOLE_CSV = VendorFormat(
    name="amazon_ads_console_campaigns_csv",
    label="Amazon Ads console Sponsored Products campaign report (CSV download)",
    columns={
        "date": H("Date"),
        "campaign_name": H("Campaign Name"),
        "campaign_type": (H("Campaign Type"), H("Program Type")),
        "currency": H("Currency"),
        "spend": H("Spend"),
        "impressions": H("Impressions"),
        "clicks": H("Clicks"),
        "conversions": _console_windowed("Orders"),
        "conversion_value": _console_windowed("Sales"),
        "campaign_status": H("Status"),
        "campaign_budget_amount": (H("Budget"), H("Budget Amount")),
        "units_sold": _console_windowed("Units"),
        "start_date": H("Start Date"),
        "end_date": H("End Date"),
        **breakdown_inputs("Placement", "Ad Group Name", "Advertised SKU", "Advertised ASIN", "Targeting",
                           "Match Type", "Customer Search Term"),
    },
    derived=("ad_group_name", "ad_name", "attribution_window", "breakdown"),
    prepare=_prepare_console,
    options={"currency": CONSOLE_CURRENCY_HINT},
    known_headers=(
        "Portfolio name", "Retailer", "Country", "Targeting Type", "Bidding strategy", "Bidding Strategy",
        "Click-Thru Rate (CTR)", "Cost Per Click (CPC)", "Total Advertising Cost of Sales (ACoS)",
        "Total Advertising Cost of Sales (ACOS)", "Total Return on Advertising Spend (RoAS)",
        "Total Return on Advertising Spend (ROAS)", "Last Year Impressions", "Last Year Clicks",
        "Last Year Spend", "Last Year Cost Per Click (CPC)", "7 Day Conversion Rate", "14 Day Conversion Rate",
        "Top-of-search Impression Share", "Campaign Budget Amount", "Campaign Budget Currency Code",
    ),
)

# the console's summary report (no `Date`): each row must cover one day (Start Date = End Date)
SP_CONSOLE_RANGE_CSV = VendorFormat(
    name="amazon_ads_console_campaigns_range_csv",
    label="Amazon Ads console Sponsored Products campaign report without a Date column (CSV download)",
    columns={k: v for k, v in SP_CONSOLE_CSV.columns.items() if k not in ("date", "start_date", "end_date")},
    reads={"start_date": H("Start Date"), "end_date": H("End Date")},
    derived=("date", "ad_group_name", "ad_name", "attribution_window", "breakdown"),
    prepare=_prepare_console,
    options={"currency": CONSOLE_CURRENCY_HINT},
    known_headers=SP_CONSOLE_CSV.known_headers,
)

FORMATS = {FEED: [SP_CAMPAIGNS_CSV, SP_CONSOLE_CSV, SP_CONSOLE_RANGE_CSV]}


def parse_sp_campaigns(path: Path | str, **options: str) -> pa.Table:
    """Daily Sponsored Products campaign rows (pass currency="USD" when the report has no
    campaignBudgetCurrencyCode column and no feed option declares it)."""
    return parse_table(FEED, path, options)
