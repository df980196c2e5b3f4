"""Turning vendor text into typed values, vectorised with polars.

Vendors write numbers with currency symbols, thousands separators, decimal commas and accounting
parentheses, and dates in a dozen layouts. Each parser here returns a typed expression that is null
where the text cannot be read, so the caller can tell "empty" (null text) from "unreadable"
(text present, value null) and quarantine the latter with a reason.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

# Time-zone abbreviations vendors print instead of an offset (Amazon reports use PST/PDT).
_TZ_ABBREVIATIONS = {
    "UTC": "+0000", "GMT": "+0000", "Z": "+0000",
    "PST": "-0800", "PDT": "-0700", "MST": "-0700", "MDT": "-0600",
    "CST": "-0600", "CDT": "-0500", "EST": "-0500", "EDT": "-0400",
    "BST": "+0100", "CET": "+0100", "CEST": "+0200", "JST": "+0900",
}
_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Trimmed text; empty becomes null. (A `replace` of "": half the time of a when/then on the
    trimmed text, and less than finding first whether any value needs trimming.)"""
    return expr.cast(pl.String).str.strip_chars().replace("", None)


# ---- parsers as steps ------------------------------------------------------------------------
# A parser is a list of steps, each writing one named value from the ones before ("t": the text being
# rewritten, "raw": the text as given). Most steps read their input more than once, so nested into one
# expression (`_nested`, what the vendors' prepare functions use) the plan repeats the whole chain
# before it: ~0.05-0.1 s to plan a column, whatever its rows. `_stepwise` runs the same steps one at a
# time on a frame (a small plan each): what `parse_series` does with the values its fast path leaves.
Step = tuple[str, Callable[[dict[str, pl.Expr]], pl.Expr]]


def _nested(steps: tuple[Step, ...], expr: pl.Expr) -> dict[str, pl.Expr]:
    values = {"t": expr, "raw": expr}
    for name, step in steps:
        values[name] = step(values)
    return values


def _stepwise(steps: tuple[Step, ...], text: pl.Series) -> pl.DataFrame:
    frame = pl.DataFrame({"t": text, "raw": text})
    for name, step in steps:
        frame = frame.with_columns(step({column: pl.col(column) for column in frame.columns}).alias(name))
    return frame


def _comma_decimal(text: pl.Expr) -> pl.Expr:
    """1.234,56  or  12,5  (but not 1,234 nor 1,234,567)."""
    return (text.str.contains(r"\.\d*,\d+$") | text.str.contains(r"^[-+]?\d*,\d{1,2}$")
            | text.str.contains(r"^[-+]?\d*,\d{4,}$"))


# Text of a number in `-1234.56` form, or null when it is not a number. Accepts `$1,234.50`,
# `1.234,50 €`, `CA$ 12.00`, `USD 12`, `(12.50)` (negative), `12,5`, `1 234,5`, a unicode minus. A lone
# comma followed by exactly three digits (`1,234`) is a thousands separator, as in every export we read.
_NUMBER_STEPS: tuple[Step, ...] = (
    ("t", lambda v: clean_text(v["t"])),
    ("negative", lambda v: v["t"].str.contains(r"^\(.*\)$")),
    ("t", lambda v: v["t"].str.replace_all(r"^\(|\)$", "")
        .str.replace_all("\u2212", "-")
        .str.replace_all(r"^[A-Z]{3}\s*|\s*[A-Z]{3}$", "")  # ISO code before or after
        .str.replace_all(r"[A-Z]{0,2}[$€£¥]", "")  # $, CA$, US$, €, £, ¥
        .str.replace_all(r"[\s\u00a0']", "")),  # space, nbsp and apostrophe thousands separators
    ("t", lambda v: pl.when(_comma_decimal(v["t"])).then(v["t"].str.replace_all(r"\.", "").str.replace(",", "."))
        .when(v["t"].str.contains(r"^[-+]?\d{1,3}(\.\d{3}){2,}$")).then(v["t"].str.replace_all(r"\.", ""))
        .otherwise(v["t"].str.replace_all(",", "")).str.replace(r"^\+", "")),
    ("t", lambda v: pl.when(v["negative"] & ~v["t"].str.starts_with("-")).then("-" + v["t"]).otherwise(v["t"])),
    ("t", lambda v: pl.when(v["t"].str.contains(r"^-?(\d+\.?\d*|\.\d+)$")).then(v["t"]).otherwise(None)),
)
_PERCENT_STEP: Step = ("t", lambda v: v["t"].str.replace(r"%$", ""))


def _zone_as_offset(text: pl.Expr) -> pl.Expr:
    """`… UTC`, `… PST`: one extract and a lookup instead of a replace per zone name."""
    offset = text.str.extract(r"\d\s*([A-Z]{1,4})$", 1).replace_strict(
        _TZ_ABBREVIATIONS, default=None, return_dtype=pl.String)
    return pl.when(offset.is_not_null()).then(text.str.replace(r"\s*[A-Z]{1,4}$", "") + " " + offset).otherwise(text)


# The layouts vendors use rewritten into `YYYY-MM-DD HH:MM:SS[.f] +HHMM`.
_DATETIME_STEPS: tuple[Step, ...] = (
    ("t", lambda v: clean_text(v["t"])
        .str.replace(r"^(\d{2})\.(\d{2})\.(\d{4})", "$3-$2-$1")  # 15.01.2024 (Amazon EU)
        .str.replace(r"^(\d{4})/(\d{2})/(\d{2})", "$1-$2-$3")
        .str.replace(r"^(\d{4}-\d{2}-\d{2})T", "$1 ")
        .str.replace(r"^(\d{1,2})/(\d{1,2})/(\d{4})", "$3-$1-$2")  # US m/d/yyyy with optional time
        .str.replace(r"^(\d{4})-(\d)-", "$1-0$2-").str.replace(r"^(\d{4}-\d{2})-(\d)(\D|$)", "$1-0$2$3")),
    ("t", lambda v: _zone_as_offset(v["t"])),
    ("t", lambda v: v["t"].str.replace(r"(\d)\s*([+-]\d{2}):?(\d{2})$", "$1 $2$3")),  # +05:00 / -0500
    ("t", lambda v: pl.when(v["t"].str.contains(r"^\d{4}-\d{2}-\d{2}$")).then(v["t"] + " 00:00:00")
        .otherwise(v["t"])),
    ("t", lambda v: pl.when(v["t"].str.contains(r"^\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}$")).then(v["t"] + ":00")
        .otherwise(v["t"])),
    # no offset given: the instant is read as UTC (documented in docs/connectors.md)
    ("t", lambda v: pl.when(v["t"].str.contains(r" [+-]\d{4}$")).then(v["t"]).otherwise(v["t"] + " +0000")),
)


def _instant(normalised: pl.Expr) -> pl.Expr:
    return pl.coalesce(
        normalised.str.to_datetime("%Y-%m-%d %H:%M:%S%.f %z", strict=False, time_zone="UTC", time_unit="us"),
        normalised.str.to_datetime("%Y-%m-%d %H:%M:%S %z", strict=False, time_zone="UTC", time_unit="us"),
    )


def _named_month(expr: pl.Expr) -> pl.Expr:
    """`Jan 5, 2024`, `January 5, 2024`, `5 Jan 2024`, `5-Jan-2024`."""
    text = clean_text(expr)
    return pl.coalesce(
        text.str.to_date("%b %d, %Y", strict=False),
        text.str.to_date("%B %d, %Y", strict=False),
        text.str.to_date("%d %b %Y", strict=False),
        text.str.to_date("%d-%b-%Y", strict=False),
    )


def _parser(kind: str, precision: int | None = None, scale: int | None = None
            ) -> tuple[tuple[Step, ...], Callable[[dict[str, pl.Expr]], pl.Expr]]:
    """(steps, the typed value from the steps' values) of `kind`."""
    if kind == "decimal":
        def decimal(v: dict[str, pl.Expr]) -> pl.Expr:
            too_precise = v["t"].str.contains(rf"\.\d{{{scale}}}\d*[1-9]")
            return pl.when(too_precise).then(None).otherwise(v["t"]).cast(pl.Decimal(precision, scale), strict=False)
        return _NUMBER_STEPS, decimal
    return {
        "number": ((_PERCENT_STEP, *_NUMBER_STEPS), lambda v: v["t"].cast(pl.Float64, strict=False)),
        "integer": (_NUMBER_STEPS, lambda v: v["t"].str.replace(r"\.0*$", "").cast(pl.Int64, strict=False)),
        "timestamp": (_DATETIME_STEPS, lambda v: _instant(v["t"])),
        "date": (_DATETIME_STEPS, lambda v: pl.coalesce(_instant(v["t"]).dt.date(), _named_month(v["raw"]))),
        "boolean": ((), lambda v: parse_boolean(v["t"])),
    }[kind]


def _parse(kind: str, expr: pl.Expr, precision: int | None = None, scale: int | None = None) -> pl.Expr:
    steps, typed = _parser(kind, precision, scale)
    return typed(_nested(steps, expr))


def parse_decimal(expr: pl.Expr, precision: int, scale: int) -> pl.Expr:
    """Exact decimal; null when unreadable or when it carries more non-zero decimals than `scale`."""
    return _parse("decimal", expr, precision, scale)


def too_many_decimals(expr: pl.Expr, scale: int) -> pl.Expr:
    return _nested(_NUMBER_STEPS, expr)["t"].str.contains(rf"\.\d{{{scale}}}\d*[1-9]").fill_null(False)


def parse_number(expr: pl.Expr) -> pl.Expr:
    return _parse("number", expr)


def parse_integer(expr: pl.Expr) -> pl.Expr:
    """Whole number; `1,234` and `12.0` read, `12.5` does not."""
    return _parse("integer", expr)


_BOOLEANS = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}


def parse_boolean(expr: pl.Expr) -> pl.Expr:
    return clean_text(expr).str.to_lowercase().replace_strict(_BOOLEANS, default=None, return_dtype=pl.Boolean)


def parse_timestamp(expr: pl.Expr) -> pl.Expr:
    """Instant in UTC."""
    return _parse("timestamp", expr)


def parse_date(expr: pl.Expr) -> pl.Expr:
    """Calendar date. A value with a time and an offset is taken as the UTC date of that instant;
    `Jan 5, 2024` and `5 Jan 2024` read too."""
    return _parse("date", expr)


def parse_texts(kind: str, text: pl.Series, precision: int | None = None, scale: int | None = None) -> pl.Series:
    """`parse_<kind>` of `text`, value for value, with the steps run one at a time (`_stepwise`)."""
    steps, typed = _parser(kind, precision, scale)
    frame = _stepwise(steps, text)
    return frame.select(typed({column: pl.col(column) for column in frame.columns}).alias(text.name)).to_series()


# --------------------------------------------------------------------------------------------
# eager parsing with a fast path: most files use one clean layout per column, so try a plain
# cast first and run the full normalisation only when some value needs it (the regex-heavy path
# costs ~ms per column per batch to plan, whatever the row count).

_FAST_TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%.f%z")


def _fast(kind: str, text: pl.Series, scale: int | None) -> pl.Series:
    if kind == "string":
        return text
    if kind == "integer":
        return text.cast(pl.Int64, strict=False)
    if kind == "number":
        return text.cast(pl.Float64, strict=False)
    if kind == "date":
        return text.str.to_date("%Y-%m-%d", strict=False)
    if kind == "timestamp":
        frame = pl.DataFrame({"t": text})
        formats = [pl.col("t").str.to_datetime(f, strict=False, time_zone="UTC", time_unit="us")
                   for f in _FAST_TIMESTAMP_FORMATS]
        first = frame.select(formats[0]).to_series()
        if first.null_count() == text.null_count():  # one layout per file: the others need not run
            return first
        return frame.select(pl.coalesce(formats)).to_series()
    if kind == "boolean":
        return pl.Series(text.name, [None] * len(text), dtype=pl.Boolean)
    plain = text.str.contains(rf"^-?\d+(\.\d{{1,{scale}}})?$")
    return pl.DataFrame({"t": text, "ok": plain}).select(
        pl.when(pl.col("ok")).then(pl.col("t"))).to_series()


def first_pass(kind: str, text: pl.Expr, precision: int | None = None, scale: int | None = None) -> pl.Expr | None:
    """`text` typed when it is in the usual layout of `kind` (None for text columns): all columns of a
    batch in one polars select, in parallel. Value by value, `parse_series` gives the same where this
    is not null; the callers run `parse_series` on the values it leaves null."""
    if kind == "string":
        return None
    if kind == "boolean":
        return parse_boolean(text)
    if kind == "timestamp":
        return text.str.to_datetime(_FAST_TIMESTAMP_FORMATS[0], strict=False, time_zone="UTC", time_unit="us")
    if kind == "decimal":
        plain = text.str.contains(rf"^-?\d+(\.\d{{1,{scale}}})?$")
        return pl.when(plain).then(text).cast(pl.Decimal(precision, scale), strict=False)
    return {"integer": lambda: text.cast(pl.Int64, strict=False), "number": lambda: text.cast(pl.Float64, strict=False),
            "date": lambda: text.str.to_date("%Y-%m-%d", strict=False)}[kind]()


# a date-time text that states its zone: an offset (+05:00, -0500), Z, or a zone abbreviation (UTC, PST)
_STATES_ZONE = r"(\d\s*[+-]\d{2}:?\d{2}|\dZ|\d\s*[A-Z]{1,4})$"


def parse_local_timestamps(text: pl.Series, zone: str) -> pl.Series:
    """Instants in UTC from date-times of which those without an offset are local times of `zone` (the
    feed's `timezone` fact); texts with an offset are instants as they say. A local time that does not
    exist (the hour skipped when daylight saving starts) is null; one that happens twice, the first."""
    parsed = parse_series("timestamp", text)
    naive = text.is_not_null() & ~text.str.contains(_STATES_ZONE)
    local = (parsed.dt.replace_time_zone(None)
             .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
             .dt.convert_time_zone("UTC"))
    return pl.DataFrame({"naive": naive, "local": local, "parsed": parsed}).select(
        pl.when(pl.col("naive")).then(pl.col("local")).otherwise(pl.col("parsed")).alias(text.name)).to_series()


def parse_series(kind: str, text: pl.Series, precision: int | None = None, scale: int | None = None) -> pl.Series:
    """`text` (already trimmed, empty → null) parsed to the contract type; null where unreadable."""
    dtype = pl.Decimal(precision, scale) if kind == "decimal" else None
    fast = _fast(kind, text, scale)
    if dtype is not None:
        fast = fast.cast(dtype, strict=False)
    needs_slow = text.is_not_null() & fast.is_null()
    if kind == "string" or not needs_slow.any():
        return fast.alias(text.name)
    # the full normalisation runs only on the distinct texts that need it, mapped back after
    todo = text.filter(needs_slow).unique()
    parsed = parse_texts(kind, todo, precision, scale)
    slow = text.replace_strict(todo, parsed, default=None, return_dtype=fast.dtype)
    return pl.DataFrame({"fast": fast, "slow": slow}).select(
        pl.coalesce("fast", "slow").alias(text.name)).to_series()
