"""The connector engine: vendor file → canonical, contract-checked Arrow batches.

A connector describes each vendor layout it reads as a `VendorFormat` (which header feeds which
canonical column, the delimiter, rows that are not data, and an optional reshaping step). The
engine does the rest the same way for every feed:

1. sniff: find the header line (some exports start with title lines), pick the layout whose
   headers are present, reject the file whole when a required column is missing or the file is
   another feed's export;
2. stream the file through DuckDB's CSV reader in Arrow batches (bounded memory whatever the
   size), tracking each record's physical line number;
3. map vendor headers to canonical columns by name, never by position;
4. cast every column to the contract type; rows with unreadable or missing required values go to
   quarantine with the line, the raw values and the reason; the rest is returned typed.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import itertools
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from connectors import values
from connectors.contracts import Column, Contract

BATCH_ROWS = 100_000
SNIFF_BYTES = 256 * 1024
SNIFF_LINES = 40

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("feed", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=False),
        pa.field("line", pa.int64()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw_values", pa.string(), nullable=False),
        pa.field("loaded_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


class FileRejected(Exception):
    """The whole file cannot be landed; the message says why and what to do."""


@dataclass(frozen=True)
class Header:
    """A vendor header, matched case-insensitively after trimming. `pattern` headers are regular
    expressions whose named groups become constant columns (`Amount spent (AUD)` → currency)."""

    name: str
    pattern: bool = False

    def match(self, header: str) -> re.Match | bool:
        if self.pattern:
            return re.fullmatch(self.name, header.strip(), flags=re.IGNORECASE) or False
        return header.strip().lower() == self.name.lower()


def H(name: str) -> Header:
    return Header(name)


def P(pattern: str) -> Header:
    return Header(pattern, pattern=True)


Prepare = Callable[[pl.DataFrame, dict], pl.DataFrame]


@dataclass(frozen=True)
class VendorFormat:
    """One vendor layout of a feed.

    columns: canonical column → the vendor header(s) it is read from (first present wins). A key
        that is not a contract column is an optional input for `prepare` (absent → null).
    derived: canonical columns the `prepare` step computes instead of reading them (checked).
    reads: vendor headers `prepare` cannot do without (absent → the file is rejected).
    non_data: rows that are not data (report totals, summary rows), dropped and counted; gets the
        text frame and the per-file state dict (a summary row may carry values later rows need).
    prepare: reshaping on text columns (forward-fill, unpivot…); gets a per-file state dict.
    options: canonical columns a file may lack and the user supplies (option name → hint).
    known_headers: vendor headers the layout knows but does not read (personal data, report
        columns without a use); any other header is reported as schema drift.
    """

    name: str
    label: str
    columns: Mapping[str, Header | tuple[Header, ...]]
    delimiter: str = ","
    quote: str = '"'
    derived: tuple[str, ...] = ()
    reads: Mapping[str, Header | tuple[Header, ...]] = field(default_factory=dict)
    non_data: Callable[[pl.DataFrame, dict], pl.Expr] | None = None
    prepare: Prepare | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    known_headers: tuple[str, ...] = ()

    def candidates(self, canonical: str) -> tuple[Header, ...]:
        spec = self.columns.get(canonical) or self.reads.get(canonical)
        return spec if isinstance(spec, tuple) else (spec,)


@dataclass
class FileLayout:
    """What sniffing learnt about a file."""

    format: VendorFormat
    header_line: int  # 1-based physical line of the header
    headers: list[str]
    mapping: dict[str, str]  # canonical (or `reads`) name → vendor header present in the file
    constants: dict[str, str]  # canonical name → value from a header pattern or an option
    missing_optional: list[str]  # canonical columns absent from the file
    extra_headers: list[str]  # vendor headers the layout does not know (schema drift)
    encoding: str


@dataclass
class ParsedBatch:
    good: pa.Table  # contract columns + `_line`
    quarantine: pl.DataFrame  # columns: line, reason, raw_values
    non_data_rows: int


# --------------------------------------------------------------------------------------------
# sniffing


def _read_head(path: Path) -> tuple[str, str]:
    raw = path.open("rb").read(SNIFF_BYTES)
    if b"\x00" in raw[:4096]:
        raise FileRejected(f"{path.name} is a binary file, not a CSV/TSV export (save it as CSV first)")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as err:
            if encoding == "utf-8-sig" and err.start >= len(raw) - 4:
                return raw[: err.start].decode(encoding), encoding  # multi-byte char cut by the read
    raise FileRejected(f"{path.name}: cannot decode the file as UTF-8 or Windows-1252")


def _split_header(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def _match_layout(fmt: VendorFormat, headers: list[str], contract: Contract) -> tuple[dict, dict, list, list]:
    """(mapping, constants, missing required, missing optional) of a format against headers."""
    mapping, constants, missing_required, missing_optional = {}, {}, [], []
    wanted = list(fmt.columns) + list(fmt.reads)
    for canonical in wanted:
        found = None
        for cand in fmt.candidates(canonical):
            for header in headers:
                hit = cand.match(header)
                if hit:
                    found = header
                    if isinstance(hit, re.Match):
                        constants.update({k: v for k, v in hit.groupdict().items() if v})
                    break
            if found:
                break
        if found:
            mapping[canonical] = found
            continue
        required = canonical in fmt.reads or (
            canonical in contract.column_names and contract.column(canonical).required
        )
        (missing_required if required else missing_optional).append(canonical)
    return mapping, constants, missing_required, missing_optional


def sniff(path: Path, contract: Contract, formats: list[VendorFormat], options: Mapping[str, str]) -> FileLayout:
    head, encoding = _read_head(path)
    lines = head.splitlines()[:SNIFF_LINES]
    best = None  # (score, fmt, line_no, headers, match)
    for fmt in formats:
        for index, line in enumerate(lines):
            if not line.strip():
                continue
            headers = [h.strip() for h in _split_header(line, fmt.delimiter)]
            mapping, constants, missing_req, missing_opt = _match_layout(fmt, headers, contract)
            score = (len(mapping) - 2 * len(missing_req), -index)
            if best is None or score > best[0]:
                best = (score, fmt, index + 1, headers, (mapping, constants, missing_req, missing_opt))
            if not missing_req and mapping:
                return _layout(path, contract, fmt, index + 1, headers, mapping, constants, missing_opt, encoding, options)
    _reject_unmatched(path, contract, formats, best, lines)


def _layout(path, contract, fmt, header_line, headers, mapping, constants, missing_opt, encoding, options) -> FileLayout:
    for column, hint in fmt.options.items():
        if column in mapping or column in constants:
            continue
        if options.get(column):
            constants[column] = options[column]
            missing_opt = [c for c in missing_opt if c != column]
        else:
            raise FileRejected(f"{path.name}: {hint}")
    known = {h.lower() for h in mapping.values()} | {h.lower() for h in fmt.known_headers}
    extra = [h for h in headers if h and h.lower() not in known]
    return FileLayout(fmt, header_line, headers, mapping, constants, missing_opt, extra, encoding)


def _reject_unmatched(path: Path, contract: Contract, formats: list[VendorFormat], best, lines: list[str]) -> None:
    if best is None:
        raise FileRejected(f"{path.name} is empty: no header line found")
    _, fmt, line_no, headers, (mapping, _, missing_req, _) = best
    required_found = len([c for c in mapping if c not in fmt.reads and c in contract.column_names
                          and contract.column(c).required])
    if required_found >= max(1, len(missing_req)):
        names = ", ".join(f"'{fmt.candidates(c)[0].name}'" for c in missing_req)
        raise FileRejected(
            f"{path.name}: missing required column(s) {names} for a {fmt.label} "
            f"(header found on line {line_no}); export the report again with these columns"
        )
    labels = " or ".join(f.label for f in formats)
    guess = _guess_feed(lines, contract.feed)
    expected = ", ".join(f"'{formats[0].candidates(c)[0].name}'" for c in list(formats[0].columns)[:4])
    hint = (f"; it looks like a '{guess}' file: land it with `cwh ingest {guess}`" if guess
            else f"; expected a header with columns such as {expected}")
    raise FileRejected(f"{path.name} is not a {labels} (wrong format for feed '{contract.feed}'){hint}")


def _guess_feed(lines: list[str], not_feed: str) -> str | None:
    """The feed whose layout best matches the file's first lines, to point the user the right way."""
    from connectors.registry import FEEDS  # late import: the registry imports the connectors

    best, best_score = None, 0
    for feed, spec in FEEDS.items():
        if feed == not_feed:
            continue
        for fmt in spec.formats:
            for line in lines:
                headers = [h.strip() for h in _split_header(line, fmt.delimiter)]
                mapping, _, missing_req, _ = _match_layout(fmt, headers, spec.contract)
                if not missing_req and len(mapping) > best_score:
                    best, best_score = feed, len(mapping)
    return best


# --------------------------------------------------------------------------------------------
# streaming


def _record_lines(path: Path, header_line: int, quote: str) -> Iterator[int]:
    """Physical line number at which each data record starts, in DuckDB's record order.

    DuckDB's reader skips empty lines; a quoted field may span lines. Quote parity tells a
    record's start from a continuation line.
    """
    quote_byte = quote.encode() if quote else b""
    with path.open("rb") as handle:
        for _ in range(header_line):
            handle.readline()
        in_quotes = False
        for number, raw in enumerate(handle, start=header_line + 1):
            if not in_quotes and raw.strip(b"\r\n"):
                yield number
            if quote_byte and raw.count(quote_byte) % 2:
                in_quotes = not in_quotes


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def stream_text_batches(path: Path, layout: FileLayout, batch_rows: int = BATCH_ROWS,
                        scratch_dir: Path | None = None) -> Iterator[pl.DataFrame]:
    """The file's needed columns as text, renamed to canonical names, plus `_line`.

    DuckDB's CSV reader streams the file into an all-text Parquet scratch file (`COPY` runs inside
    DuckDB's streaming engine, so memory stays flat whatever the file size; its Python result
    readers buffer the whole result instead), which is then read back batch by batch.
    """
    fmt = layout.format
    select = ", ".join(f'"{v.replace(chr(34), chr(34) * 2)}" AS "{k}"' for k, v in layout.mapping.items())
    quote = _sql_str(fmt.quote) if fmt.quote else "''"
    options = [
        "all_varchar = true", "header = true", f"skip = {layout.header_line - 1}",
        f"delim = {_sql_str(fmt.delimiter)}", f"quote = {quote}", f"escape = {quote}",
        "null_padding = true", "strict_mode = false", "parallel = false",
    ]
    if layout.encoding == "cp1252":
        options.append("encoding = 'latin-1'")
    if scratch_dir is not None:
        scratch_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix="cwh-read-") as tmp:
        staged = Path(tmp) / "text.parquet"
        # one thread and insertion order kept: rows come back in file order, as line numbers need
        con = duckdb.connect(config={"threads": 1, "memory_limit": "256MB", "preserve_insertion_order": True,
                                     "temp_directory": tmp})
        try:
            query = f"SELECT {select} FROM read_csv({_sql_str(str(path))}, {', '.join(options)})"
            con.execute(f"COPY ({query}) TO {_sql_str(str(staged))} "
                        f"(FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE {batch_rows})")
        except duckdb.Error as err:
            raise FileRejected(f"{path.name}: unreadable as {fmt.label}: {str(err).splitlines()[0]}") from err
        finally:
            con.close()
        lines = _record_lines(path, layout.header_line, fmt.quote)
        for batch in pq.ParquetFile(staged).iter_batches(batch_size=batch_rows):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            numbers = list(itertools.islice(lines, frame.height))
            numbers += [None] * (frame.height - len(numbers))
            yield frame.with_columns(pl.Series("_line", numbers, dtype=pl.Int64))


# --------------------------------------------------------------------------------------------
# typing and validation


def pii_hash(value: str) -> str:
    """Keyed, normalised hash of a personal identifier (HMAC-SHA256 with CWH_HASH_KEY).

    The same email hashes the same way in every feed, so identities join across channels without
    the email ever leaving the raw layer. Without a key the hash is a plain SHA-256.
    """
    key = os.environ.get("CWH_HASH_KEY", "").encode()
    normalised = value.strip().lower().encode()
    if key:
        return hmac.new(key, normalised, hashlib.sha256).hexdigest()
    return hashlib.sha256(normalised).hexdigest()


def _hash_column(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    texts = frame[name].drop_nulls().unique().to_list()
    lookup = {t: pii_hash(t) for t in texts if t.strip()}
    return frame.with_columns(pl.col(name).replace_strict(lookup, default=None, return_dtype=pl.String))


_TYPE_WORDS = {"integer": "a whole number", "number": "a number", "boolean": "yes/no",
               "date": "a date", "timestamp": "a date-time"}


def _parse_column(column: Column, text: pl.Series) -> pl.Series:
    if column.type.startswith("decimal"):
        precision, scale = column.decimal_spec
        return values.parse_series("decimal", text, precision, scale)
    return values.parse_series(column.type, text)


def _reasons(column: Column, label: str, text: pl.Series, typed: pl.Series) -> pl.Series:
    """Why each value breaks the contract, or null."""
    frame = pl.DataFrame({"text": text, "typed": typed})
    present, parsed = pl.col("text").is_not_null(), pl.col("typed").is_not_null()
    if column.type.startswith("decimal"):
        _, scale = column.decimal_spec
        what = pl.when(values.too_many_decimals(pl.col("text"), scale)).then(
            pl.lit(f"has more than {scale} decimals")).otherwise(pl.lit("is not an amount"))
    else:
        what = pl.lit(f"is not {_TYPE_WORDS.get(column.type, column.type)}")
    reason = pl.when(present & ~parsed).then(pl.concat_str([pl.lit(f"{label}: '"), pl.col("text"), pl.lit("' "), what]))
    if not column.nullable:
        reason = reason.when(~present).then(pl.lit(f"{label}: missing value"))
    return frame.select(reason.otherwise(None).alias(column.name)).to_series()


def to_canonical(frame: pl.DataFrame, contract: Contract, layout: FileLayout) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(typed good rows, quarantine rows) from a text frame with canonical column names."""
    for name in contract.column_names:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(layout.constants.get(name), dtype=pl.String).alias(name))
    frame = frame.with_columns([values.clean_text(pl.col(n)).alias(n) for n in contract.column_names])
    for col in contract.columns:
        if col.pii == "hash" and frame.height:
            frame = _hash_column(frame, col.name)
    typed, reasons = {}, []
    for col in contract.columns:
        typed[col.name] = _parse_column(col, frame[col.name])
        if typed[col.name].null_count() > frame[col.name].null_count() or not col.nullable:
            reasons.append(_reasons(col, f"column '{layout.mapping.get(col.name, col.name)}'",
                                    frame[col.name], typed[col.name]))
    if reasons:
        reason = pl.DataFrame(reasons).select(
            pl.concat_str(pl.all(), separator="; ", ignore_nulls=True)).to_series()
        is_bad = (reason.is_not_null() & (reason != "")).to_numpy()
    else:
        reason, is_bad = pl.Series([None] * frame.height, dtype=pl.String), None
    good = pl.DataFrame([*typed.values(), frame["_line"]])
    if is_bad is None or not is_bad.any():
        return good, _quarantine_rows(frame.clear(), pl.Series([], dtype=pl.String), layout)
    return good.filter(~is_bad), _quarantine_rows(frame.filter(is_bad), reason.filter(is_bad), layout)


def _quarantine_rows(rows: pl.DataFrame, reasons: pl.Series, layout: FileLayout) -> pl.DataFrame:
    """Raw values keyed by the vendor's own header names (personal fields already hashed)."""
    raw = []
    value_cols = [c for c in rows.columns if c != "_line"]
    for record in rows.select(value_cols).iter_rows(named=True):
        raw.append(json.dumps({layout.mapping.get(k, k): v for k, v in record.items() if v is not None},
                              ensure_ascii=False))
    return pl.DataFrame(
        {"line": rows["_line"], "reason": reasons, "raw_values": pl.Series(raw, dtype=pl.String)},
        schema={"line": pl.Int64, "reason": pl.String, "raw_values": pl.String},
    )


def _drop_blank(frame: pl.DataFrame) -> pl.DataFrame:
    value_cols = [c for c in frame.columns if c != "_line"]
    if not value_cols:
        return frame
    blank = pl.all_horizontal([values.clean_text(pl.col(c)).is_null() for c in value_cols])
    return frame.filter(~blank)


def parse_batches(path: Path, contract: Contract, layout: FileLayout, batch_rows: int = BATCH_ROWS,
                  scratch_dir: Path | None = None) -> Iterator[ParsedBatch]:
    fmt = layout.format
    state: dict = {"path": path, "layout": layout}
    schema = contract.arrow_schema(with_lineage=False)
    for text in stream_text_batches(path, layout, batch_rows, scratch_dir):
        text = _drop_blank(text)
        non_data = 0
        if fmt.non_data is not None and text.height:
            mask = text.select(fmt.non_data(text, state)).to_series().fill_null(False)
            non_data = int(mask.sum())
            text = text.filter(~mask)
        if fmt.prepare is not None:
            text = fmt.prepare(text, state)
            missing = [c for c in fmt.derived if c not in text.columns]
            if missing:
                raise RuntimeError(f"connector bug: {fmt.name} prepare() did not produce {missing}")
        good, quarantine = to_canonical(text, contract, layout)
        table = good.select(contract.column_names).to_arrow().cast(schema)
        table = table.append_column(pa.field("_line", pa.int64()), good["_line"].to_arrow())
        yield ParsedBatch(table, quarantine, non_data)
    if fmt.prepare is not None and "finish" in state:
        state["finish"]()


@dataclass
class ParsedFile:
    """A whole file parsed in memory (tests, small files). The lake streams instead."""

    table: pa.Table
    quarantine: pl.DataFrame
    layout: FileLayout
    non_data_rows: int

    @property
    def frame(self) -> pl.DataFrame:
        return pl.from_arrow(self.table)


def parse_file(path: Path | str, contract: Contract, formats: list[VendorFormat],
               options: Mapping[str, str] | None = None) -> ParsedFile:
    path = Path(path)
    layout = sniff(path, contract, formats, options or {})
    batches, quarantines, non_data = [], [], 0
    for parsed in parse_batches(path, contract, layout):
        batches.append(parsed.good)
        quarantines.append(parsed.quarantine)
        non_data += parsed.non_data_rows
    schema = pa.schema([*contract.arrow_schema(with_lineage=False), pa.field("_line", pa.int64())])
    table = pa.concat_tables(batches) if batches else schema.empty_table()
    quarantine = pl.concat(quarantines) if quarantines else pl.DataFrame(
        schema={"line": pl.Int64, "reason": pl.String, "raw_values": pl.String})
    return ParsedFile(table, quarantine, layout, non_data)

