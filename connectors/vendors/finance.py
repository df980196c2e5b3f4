"""Finance reference data in the templates of docs/templates.md: COGS (effective-dated unit cost
per SKU), channel operating costs per month, daily FX rates and monthly channel targets.

These are small files finance keeps by hand or exports from a spreadsheet, so the connector is
lenient where people are inconsistent: a month may be written `2026-05`, `2026-05-01` or
`May 2026` (stored as the month's first day), rates may be written `2.5%` (stored as 0.025), and
currency codes are upper-cased. The FX file names its reporting currency in the rate column's
header (`rate_to_usd`), which becomes the `quote_currency` column.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors import values
from connectors.engine import H, P, VendorFormat
from connectors.registry_helpers import parse_table

# --------------------------------------------------------------------------------------------
# shared text normalisers (also used by the other template connectors)


def upper_case(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """Trimmed, upper-cased text (currency codes)."""
    present = [c for c in columns if c in frame.columns]
    return frame.with_columns([pl.col(c).str.strip_chars().str.to_uppercase() for c in present])


def month_start(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Rewrite a month written as `2026-05`, `2026/5`, `05/2026`, `May 2026`, `May-2026` or any
    date in the month as `2026-05-01`. Text that is no month is left alone, so the engine
    quarantines it with the vendor's own value in the reason. Parsed once per distinct text, the
    layouts one select each (`values.parse_texts`: one nested expression took ~0.5 s to plan)."""
    texts = frame[column].drop_nulls().unique()
    firsts = _first_days(texts)
    first = pl.col(column).replace_strict(texts, firsts, default=None, return_dtype=pl.String)
    return frame.with_columns(pl.when(first.is_not_null()).then(first).otherwise(pl.col(column)).alias(column))


def _first_days(texts: pl.Series) -> pl.Series:
    """`YYYY-MM-01` of the month each text names, null where it names none."""
    text = pl.DataFrame({"t": texts}).select(values.clean_text(pl.col("t"))).to_series()

    def ym(pattern: str) -> pl.Expr:
        groups = pl.col("t").str.extract_groups(pattern)
        return pl.concat_str([groups.struct.field("y"), pl.lit("-"), groups.struct.field("m").str.zfill(2),
                              pl.lit("-01")]).str.to_date("%Y-%m-%d", strict=False)

    named = pl.lit("1 ") + pl.col("t").str.replace(r"^([A-Za-z]+)[\s\-]+(\d{4})$", "$1 $2")
    parsed = pl.DataFrame({"t": text}).select(pl.coalesce(
        ym(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})$"),
        ym(r"^(?P<m>\d{1,2})[-/.](?P<y>\d{4})$"),
        named.str.to_date("%d %B %Y", strict=False),
        named.str.to_date("%d %b %Y", strict=False),
    )).to_series()
    if parsed.null_count() > text.null_count():  # a date in the month, in any layout `values` reads
        parsed = parsed.fill_null(values.parse_texts("date", text))
    return parsed.dt.month_start().dt.strftime("%Y-%m-%d")


def _fraction(text: str) -> str:
    """`2.5%` → `0.025`; text that is not a percentage is returned as is."""
    number = text.strip()[:-1].strip().replace("\u00a0", "").replace(" ", "")
    if "," in number and "." not in number:
        number = number.replace(",", ".")
    try:
        return format(Decimal(number) / 100, "f")
    except InvalidOperation:
        return text


def percent_to_fraction(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """Rates written as percentages (`2.5%`) become fractions (`0.025`); plain numbers stay."""
    for column in [c for c in columns if c in frame.columns]:
        texts = frame[column].drop_nulls().unique().to_list()
        lookup = {t: _fraction(t) for t in texts if t.strip().endswith("%")}
        if lookup:
            frame = frame.with_columns(pl.col(column).replace(lookup))
    return frame


# --------------------------------------------------------------------------------------------
# COGS

COGS_COLUMNS = {"sku": "sku", "unit_cost": "unit_cost", "currency": "currency", "effective_from": "effective_from"}

COGS_CSV = VendorFormat(
    name="cogs_template_csv",
    label="COGS template (sku, unit_cost, currency, effective_from)",
    columns={k: H(v) for k, v in COGS_COLUMNS.items()},
    prepare=lambda frame, state: upper_case(frame, "currency"),
)

# --------------------------------------------------------------------------------------------
# operating costs

OPERATING_COSTS_COLUMNS = {"month": "month", "channel": "channel", "cost_type": "cost_type",
                           "amount": "amount", "currency": "currency"}


def _prepare_operating_costs(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    return upper_case(month_start(frame, "month"), "currency")


OPERATING_COSTS_CSV = VendorFormat(
    name="operating_costs_template_csv",
    label="channel operating costs template (month, channel, cost_type, amount, currency)",
    columns={k: H(v) for k, v in OPERATING_COSTS_COLUMNS.items()},
    prepare=_prepare_operating_costs,
)

# --------------------------------------------------------------------------------------------
# FX rates

# The literal `rate_to_<CUR>` comes first only so that a file without a rate column is rejected
# with a readable name ("missing required column 'rate_to_<CUR>'") instead of the pattern's regex;
# no real header is spelt that way.
FX_RATE_HEADER = (H("rate_to_<CUR>"), P(r"rate_to_(?P<quote_currency>[A-Za-z]{3})"))


def _prepare_fx(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    quote = state["layout"].constants.get("quote_currency", "").upper() or None
    frame = upper_case(frame, "currency")
    return frame.with_columns(pl.lit(quote, dtype=pl.String).alias("quote_currency"))


FX_RATES_CSV = VendorFormat(
    name="fx_rates_template_csv",
    label="foreign-exchange rates template (date, currency, rate_to_<CUR>)",
    columns={"date": H("date"), "currency": H("currency"), "rate": FX_RATE_HEADER},
    derived=("quote_currency",),
    prepare=_prepare_fx,
)

# --------------------------------------------------------------------------------------------
# channel targets

TARGET_COLUMNS = {
    "month": "month",
    "channel": "channel",
    "net_revenue_target": "net_revenue_target",
    "orders_target": "orders_target",
    "conversion_rate_target": "conversion_rate_target",
    "marketing_spend_budget": "marketing_spend_budget",
    "cm3_margin_target": "cm3_margin_target",
    "currency": "currency",
}
RATE_TARGETS = ("conversion_rate_target", "cm3_margin_target")


def _prepare_targets(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    frame = percent_to_fraction(month_start(frame, "month"), *RATE_TARGETS)
    return upper_case(frame, "currency")


CHANNEL_TARGETS_CSV = VendorFormat(
    name="channel_targets_template_csv",
    label="channel targets template (month, channel, net_revenue_target, orders_target, …)",
    columns={k: H(v) for k, v in TARGET_COLUMNS.items()},
    prepare=_prepare_targets,
)

FORMATS = {
    "cogs": [COGS_CSV],
    "operating_costs": [OPERATING_COSTS_CSV],
    "fx_rates": [FX_RATES_CSV],
    "channel_targets": [CHANNEL_TARGETS_CSV],
}


def parse_cogs(path: Path | str) -> pa.Table:
    return parse_table("cogs", path)


def parse_operating_costs(path: Path | str) -> pa.Table:
    return parse_table("operating_costs", path)


def parse_fx_rates(path: Path | str) -> pa.Table:
    return parse_table("fx_rates", path)


def parse_channel_targets(path: Path | str) -> pa.Table:
    return parse_table("channel_targets", path)
