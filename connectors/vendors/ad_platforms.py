"""Helpers the ad-platform connectors share (Google Ads, Meta Ads, Pinterest Ads, Amazon Ads).

All four feeds land in the same canonical core so staging can union them:

    date, campaign_id, campaign_name, ad_group_name, ad_name, campaign_type, currency, spend,
    impressions, clicks, conversions, conversion_value

followed by each platform's extras. Levels an export does not break down by (Google and Amazon
campaign reports have no ad group / ad) hold `(all)`, so primary keys never contain nulls.
Conversions and conversion values are the platform's own attribution: they stay per platform.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import polars as pl

ALL_LEVEL = "(all)"
LEVEL_COLUMNS = ("ad_group_name", "ad_name")
CORE_COLUMNS = (
    "date", "campaign_id", "campaign_name", "ad_group_name", "ad_name", "campaign_type", "currency",
    "spend", "impressions", "clicks", "conversions", "conversion_value",
)


def currency_hint(feed: str, why: str) -> str:
    """The rejection message of a file whose currency neither a column nor an option gives."""
    return (
        f"{why}: land it with your ad account's currency, e.g. `cwh ingest {feed} FILE --currency USD`, "
        f"or set it for the feed with `{feed}: {{currency: USD}}` in config/feed_options.yml under the project home"
    )


def _text(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String).str.strip_chars()


def fill_levels(frame: pl.DataFrame, columns: tuple[str, ...] = LEVEL_COLUMNS) -> pl.DataFrame:
    """`(all)` for the ad group / ad level where the export has no such column or leaves it empty."""
    exprs = []
    for name in columns:
        if name in frame.columns:
            text = _text(name)
            exprs.append(pl.when(text.is_null() | (text == "")).then(pl.lit(ALL_LEVEL))
                         .otherwise(pl.col(name)).alias(name))
        else:
            exprs.append(pl.lit(ALL_LEVEL, dtype=pl.String).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def set_constant(frame: pl.DataFrame, name: str, value: str | None) -> pl.DataFrame:
    """A column with the same text on every row (only when the file has no such column)."""
    if name in frame.columns:
        return frame
    return frame.with_columns(pl.lit(value, dtype=pl.String).alias(name))


def normalise_currency(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    """Upper-case ISO code, whether it comes from a column, a header (`Amount spent (usd)`) or an
    option the user supplied."""
    if "currency" not in frame.columns:
        constant = state["layout"].constants.get("currency")
        frame = frame.with_columns(pl.lit(constant, dtype=pl.String).alias("currency"))
    return frame.with_columns(_text("currency").str.to_uppercase().alias("currency"))


def null_placeholders(frame: pl.DataFrame, tokens: tuple[str, ...] = ("--",)) -> pl.DataFrame:
    """Report placeholders (`--` in Google Ads UI downloads) become empty values."""
    value_cols = [c for c in frame.columns if c != "_line"]
    return frame.with_columns(
        [pl.when(_text(c).is_in(list(tokens))).then(None).otherwise(pl.col(c)).alias(c) for c in value_cols])


def micros_to_units(expr: pl.Expr) -> pl.Expr:
    """Google Ads `cost_micros` → amount text, exactly, as text (`12340000` → `12.340000`).

    Never through a float. A value that is not a whole number of micros is kept with a note, so
    the row is quarantined with the reason instead of being read as units by mistake.
    """
    text = expr.cast(pl.String).str.strip_chars().str.replace_all(r"[,\s]", "")
    whole = text.str.replace(r"\.0*$", "")
    is_whole = whole.str.contains(r"^-?\d+$")
    negative = whole.str.starts_with("-")
    digits = whole.str.replace(r"^-", "").str.zfill(7)
    units = digits.str.replace(r"^(\d+)(\d{6})$", "$1.$2")
    signed = pl.when(negative).then(pl.lit("-") + units).otherwise(units)
    return (
        pl.when(text.is_null() | (text == "")).then(None)
        .when(is_whole).then(signed)
        .otherwise(text + pl.lit(" (not a whole number of micros)"))
    )


def _round_text(value: str, scale: int) -> str:
    try:
        number = Decimal(value.strip().replace(",", ""))
    except InvalidOperation:
        return value
    return str(number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP))


def round_decimals(frame: pl.DataFrame, column: str, scale: int) -> pl.DataFrame:
    """Round plain numbers carrying more than `scale` decimals, half-up, in text.

    Ad platforms compute these figures as floating-point numbers (`245.67000000000002`); the
    contract keeps them at a fixed scale. Text that is not a plain number is left for the engine
    to read or quarantine.
    """
    if column not in frame.columns or not frame.height:
        return frame
    series = frame[column].cast(pl.String)
    needs = series.str.contains(rf"^\s*-?[\d,]*\.\d{{{scale + 1},}}\s*$").fill_null(False)
    if not needs.any():
        return frame
    lookup = {v: _round_text(v, scale) for v in series.filter(needs).unique().to_list()}
    return frame.with_columns(pl.col(column).cast(pl.String).replace(lookup).alias(column))


def window_of(header: str | None) -> str | None:
    """`purchases14d` → `14d`."""
    if not header:
        return None
    match = re.search(r"(\d+d)$", header.strip(), flags=re.IGNORECASE)
    return match.group(1).lower() if match else None


# --------------------------------------------------------------------------------------------
# breakdowns: several rows of one file for one grain key (Meta by age × gender, GA4 by channel
# group, Google by device). The lake keeps every row with its `breakdown`; staging sums the rows of
# the latest file per grain key (dbt macro `latest_file_totals`).

BREAKDOWN_PREFIX = "breakdown:"
NO_BREAKDOWN = "(none)"


def breakdown_inputs(*headers: str) -> dict:
    """`VendorFormat.columns` entries that read breakdown headers as optional `prepare` inputs."""
    from connectors.engine import H  # late import: engine imports nothing from here

    return {f"{BREAKDOWN_PREFIX}{header}": H(header) for header in headers}


def _grain_text(frame: pl.DataFrame, state: dict, name: str) -> pl.Expr:
    if name in frame.columns:
        return _text(name).fill_null("")
    return pl.lit(state["layout"].constants.get(name) or "", dtype=pl.String)


def label_breakdown(frame: pl.DataFrame, state: dict, grain: tuple[str, ...]) -> pl.DataFrame:
    """`breakdown` = the row's breakdown values (`Age=25-34; Gender=female`), `(none)` without any;
    a row repeating its grain key and breakdown within the file gets `#2`, `#3`… (counted across
    batches), so the contract key (grain + breakdown) names one row of the vendor file."""
    inputs = [c for c in frame.columns if c.startswith(BREAKDOWN_PREFIX)]
    mapping = state["layout"].mapping
    parts = [pl.when(_text(c).is_not_null() & (_text(c) != ""))
             .then(pl.lit(f"{mapping.get(c, c[len(BREAKDOWN_PREFIX):])}=") + _text(c)) for c in inputs]
    label = pl.concat_str(parts, separator="; ", ignore_nulls=True) if parts else pl.lit(None, dtype=pl.String)
    label = pl.when(label.is_null() | (label == "")).then(pl.lit(NO_BREAKDOWN)).otherwise(label)
    frame = frame.with_columns(label.alias("breakdown")).drop(inputs)
    if not frame.height:
        return frame
    key = pl.concat_str([_grain_text(frame, state, g) for g in (*grain, "breakdown")], separator="\x1f")
    seen: dict[str, int] = state.setdefault("_breakdown_seen", {})
    labels = []
    for text, label_text in zip(frame.select(key).to_series().to_list(), frame["breakdown"].to_list(), strict=True):
        count = seen.get(text, 0) + 1
        seen[text] = count
        labels.append(label_text if count == 1 else f"{label_text} #{count}")
    return frame.with_columns(pl.Series("breakdown", labels, dtype=pl.String))


def fill_campaign(frame: pl.DataFrame) -> pl.DataFrame:
    """Account-level exports (no campaign column) land as campaign `(all)`; the campaign → channel
    rules then book them like any campaign (no matching rule → `unallocated`)."""
    return fill_levels(frame, ("campaign_name",)) if "campaign_name" not in frame.columns else frame
