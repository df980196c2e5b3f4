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

import hmac
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from connectors import read_sql, reader, values
from connectors.contracts import Column, Contract

BATCH_ROWS = 50_000  # rows typed at a time: about the CPU of 100k-row batches, ~230 MB less memory
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
    non_data_line: tells a record whose field count differs from the header's that is not data
        (footnotes, `Total:` lines) from a malformed row (quarantined); gets the record's text.
    refusal: a report users take for this feed's but which cannot be landed: a file with this
        layout is refused with "<file> is <refusal>" (what it is, what to download instead).
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
    non_data_line: Callable[[str], bool] | None = None
    refusal: str = ""

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
    dialect: Dialect | None = None
    positions: dict[str, int] = field(default_factory=dict)  # canonical (or `reads`) name → field index
    width: int = 0  # fields per record
    options: dict[str, str] = field(default_factory=dict)  # facts the user gave (--currency…), for prepare


@dataclass
class ParsedBatch:
    good: pa.Table  # contract columns + `_line`
    quarantine: pl.DataFrame  # columns: line, reason, raw_values
    non_data_rows: int


# --------------------------------------------------------------------------------------------
# sniffing

# delimiters tried on a header line after the layout's own (Amazon's .txt reports are tab-separated,
# their .csv downloads comma-separated and fully quoted)
DELIMITERS = ("\t", ",", ";", "|")


def _split_header(line: str, delimiter: str, quote: str = '"') -> list[str]:
    return [h.strip() for h in reader.split_fields(line, delimiter, quote or '"')]


def _match_layout(fmt: VendorFormat, headers: list[str], contract: Contract) -> tuple[dict, dict, list, list]:
    """(mapping, constants, missing required, missing optional) of a format against headers."""
    mapping, constants, missing_required, missing_optional = {}, {}, [], []
    # a plain header name is looked up, not compared with every header: sniffing tries each layout on
    # up to SNIFF_LINES lines, and a legacy Amazon settlement first failed the V2 layout on all of them
    by_name: dict[str, str] = {}
    for header in headers:
        by_name.setdefault(header.strip().lower(), header)
    wanted = list(fmt.columns) + list(fmt.reads)
    for canonical in wanted:
        found = None
        for cand in fmt.candidates(canonical):
            if not cand.pattern:
                found = by_name.get(cand.name.lower())
            else:
                for header in headers:
                    hit = cand.match(header)
                    if hit:
                        found = header
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


def _dialects(fmt: VendorFormat) -> Iterator[tuple[str, str]]:
    """(delimiter, quote) pairs to try: the layout's own first; another delimiter means a CSV
    download, quoted with `"` whatever the layout's usual quoting."""
    yield fmt.delimiter, fmt.quote
    for delimiter in DELIMITERS:
        if delimiter != fmt.delimiter:
            yield delimiter, '"'


# the layouts of the other feeds, to tell a user whose file matched none of this feed's which feed it is
OtherFeeds = Mapping[str, tuple[Contract, Sequence[VendorFormat]]]


def sniff(path: Path, contract: Contract, formats: list[VendorFormat], options: Mapping[str, str],
          others: OtherFeeds | None = None) -> FileLayout:
    try:
        encoding = reader.detect_encoding(path)
    except reader.NotText as err:
        raise FileRejected(str(err)) from err
    lines = reader.head_lines(path, encoding, SNIFF_LINES)
    best = None  # (score, fmt, line_no, headers, match, delimiter)
    for fmt in formats:
        for delimiter, quote in _dialects(fmt):
            for index, line in enumerate(lines):
                if not line.strip() or delimiter not in line and len(fmt.columns) > 1:
                    continue
                headers = _split_header(line, delimiter, quote)
                mapping, constants, missing_req, missing_opt = _match_layout(fmt, headers, contract)
                score = (len(mapping) - 2 * len(missing_req), -index)
                if best is None or score > best[0]:
                    best = (score, fmt, index + 1, headers, (mapping, constants, missing_req, missing_opt), delimiter)
                if not missing_req and mapping:
                    if fmt.refusal:
                        raise FileRejected(f"{path.name} is {fmt.refusal}")
                    dialect = Dialect(delimiter, quote, encoding)
                    return _layout(path, contract, fmt, index + 1, headers, mapping, constants, missing_opt,
                                   dialect, options, lines[index + 1:])
    _reject_unmatched(path, contract, formats, best, lines, encoding.label, others or {})


@dataclass(frozen=True)
class Dialect:
    """How the file is written: found by sniffing, never assumed."""

    delimiter: str
    quote: str
    encoding: reader.Encoding


def _record_width(headers: list[str], samples: list[str], dialect: Dialect, positions: dict[str, int]) -> int:
    """Fields per record. Some tools end every data row with one more (empty) field than the header
    has, or write a header with trailing columns no row fills (a column added by hand, a trailing
    delimiter); read those files as they are when every sampled row agrees and no column read is
    missing. A single row of another width is still quarantined."""
    width = len(headers)
    rows = [reader.split_fields(s, dialect.delimiter, dialect.quote) for s in samples if s.strip()][:20]
    widths = {len(r) for r in rows}
    if not rows or len(widths) != 1:
        return width
    found = widths.pop()
    if found == width + 1 and all(not r[-1].strip() for r in rows):
        return found
    if found < width and all(index < found for index in positions.values()):
        return found
    return width


def _layout(path, contract, fmt, header_line, headers, mapping, constants, missing_opt, dialect,
            options, samples) -> FileLayout:
    for column, hint in fmt.options.items():
        if column in mapping or column in constants:
            continue
        if options.get(column):
            constants[column] = options[column]
            missing_opt = [c for c in missing_opt if c != column]
        else:
            raise FileRejected(f"{path.name}: {hint}")
    lowered = [h.lower() for h in headers]
    for vendor in mapping.values():
        if lowered.count(vendor.lower()) > 1:
            raise FileRejected(
                f"{path.name}: the header has the column '{vendor}' {lowered.count(vendor.lower())} times "
                f"(line {header_line}), so which one to read is ambiguous; rename or remove the extra "
                "column and land the file again")
    positions = {canonical: lowered.index(vendor.lower()) for canonical, vendor in mapping.items()}
    known = {h.lower() for h in mapping.values()} | {h.lower() for h in fmt.known_headers}
    extra = [h for h in headers if h and h.lower() not in known]
    width = _record_width(headers, samples, dialect, positions)
    return FileLayout(fmt, header_line, headers, mapping, constants, missing_opt, extra, dialect.encoding.label,
                      dialect, positions, width, dict(options))


def _reject_unmatched(path: Path, contract: Contract, formats: list[VendorFormat], best, lines: list[str],
                      encoding: str, others: OtherFeeds) -> None:
    if best is None:
        raise FileRejected(f"{path.name} is empty: no header line found")
    _, fmt, line_no, headers, (mapping, _, missing_req, _), delimiter = best
    required_found = len([c for c in mapping if c not in fmt.reads and c in contract.column_names
                          and contract.column(c).required])
    if required_found >= max(1, len(missing_req)):
        names = ", ".join(f"'{fmt.candidates(c)[0].name}'" for c in missing_req)
        raise FileRejected(
            f"{path.name}: missing required column(s) {names} for a {fmt.label} "
            f"(header found on line {line_no}); export the report again with these columns"
        )
    labels = " or ".join(f.label for f in formats)
    guess, guessed = _guess_feed(lines, others)
    expected = ", ".join(f"'{formats[0].candidates(c)[0].name}'" for c in list(formats[0].columns)[:4])
    if guessed is not None and guessed.refusal:
        hint = f"; it is {guessed.refusal}"
    elif guess:
        hint = f"; it looks like a '{guess}' file: land it with `cwh ingest {guess} {path.name}`"
    else:
        hint = f"; expected a header with columns such as {expected}"
    first = next((line for line in lines if line.strip()), "")
    seen = (f" (read as {encoding}; no header with a known delimiter; first line: "
            f"{first[:120]!r})")
    raise FileRejected(f"{path.name} is not a {labels} (wrong format for feed '{contract.feed}'){hint}{seen}")


def _guess_feed(lines: list[str], others: OtherFeeds) -> tuple[str | None, VendorFormat | None]:
    """The feed and layout that best match the file's first lines, to point the user the right way."""
    best, best_fmt, best_score = None, None, 0
    for feed, (other_contract, other_formats) in others.items():
        for fmt in other_formats:
            for delimiter, quote in _dialects(fmt):
                for line in lines:
                    if delimiter not in line:
                        continue
                    headers = _split_header(line, delimiter, quote)
                    mapping, _, missing_req, _ = _match_layout(fmt, headers, other_contract)
                    if not missing_req and len(mapping) > best_score:
                        best, best_fmt, best_score = feed, fmt, len(mapping)
    return best, best_fmt


# --------------------------------------------------------------------------------------------
# streaming


@dataclass(frozen=True)
class ReadColumns:
    """What the DuckDB read selects: output column → SQL over the record's fields (`read_sql`), and
    the query's parameters."""

    columns: dict[str, str]
    params: list = field(default_factory=list)

    @classmethod
    def plain(cls, layout: FileLayout) -> ReadColumns:
        return cls({name: f"f{index}" for name, index in layout.positions.items()})

    @classmethod
    def for_contract(cls, contract: Contract, layout: FileLayout) -> ReadColumns:
        """The columns read, personal ones hashed (when the key is set; else `_hash_column` asks for
        it if there is a value to hash), and the `_blank` flag."""
        hashing = read_sql.needs_key(contract, layout.positions) and bool(os.environ.get("CWH_HASH_KEY"))
        params = read_sql.key_params(_hash_key()) if hashing else []
        return cls(read_sql.projection(contract, layout.positions, hashing), params)


class ReadAgain(Exception):
    """The direct read of a file failed after some of its rows were handed on: the caller discards
    what it made of them and parses the file again with `direct=False` (record by record)."""


def stream_text_batches(path: Path, layout: FileLayout, batch_rows: int = BATCH_ROWS,
                        scratch_dir: Path | None = None, account: FileAccount | None = None,
                        progress: reader.Progress | None = None,
                        read: ReadColumns | None = None, direct: bool = True) -> Iterator[pl.DataFrame]:
    """The file's needed columns as text, renamed to canonical names, plus `_line`.

    A plain file (UTF-8, one record per line: `reader.plain_file`, the common case) is streamed from
    DuckDB's CSV reader directly (`reader.stream_plain`); any other goes record by record:
    `connectors.reader` splits the file into records (true line numbers) and DuckDB reads them
    strictly into an all-text Parquet scratch file (`COPY` streams: memory stays flat whatever the
    file size), read back batch by batch. Both ways give the same rows, lines and counts. When DuckDB
    meets a record it cannot read directly, the file is read record by record instead, or, if rows
    were already handed on, `ReadAgain` is raised. Records the record-by-record reader refuses
    (wrong field count, NUL bytes, a cut last row) are left in `account.refused` for the caller to
    quarantine.
    """
    account = account if account is not None else FileAccount()
    dialect = layout.dialect
    read = read or ReadColumns.plain(layout)
    if scratch_dir is not None:
        scratch_dir.mkdir(parents=True, exist_ok=True)
    if direct and READ_DIRECT:
        handed_on = False
        try:
            for frame in _read_direct(path, layout, scratch_dir, progress, read, batch_rows, account):
                handed_on = True
                yield frame
            return
        except reader.NotPlain:
            if handed_on:
                raise ReadAgain(path.name) from None
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix="cwh-read-") as tmp:
        strict, tally = _read_by_record(path, layout, Path(tmp), batch_rows, progress, read)
        account.start(tally, dialect, strict.rejected + strict.refused)
        account.read = "by record"
        for batch in pq.ParquetFile(strict.parquet).iter_batches(batch_size=batch_rows):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame


# False: every file is read record by record (tests compare the two reads on the same files)
READ_DIRECT = True


def _read_direct(path: Path, layout: FileLayout, scratch_dir: Path | None, progress: reader.Progress | None,
                 read: ReadColumns, batch_rows: int, account: FileAccount) -> Iterator[pl.DataFrame]:
    """The plain file's rows from DuckDB, numbered by line; `reader.NotPlain` when it is not plain."""
    dialect = layout.dialect
    plain = reader.plain_file(path, dialect.encoding, layout.header_line, dialect.delimiter, dialect.quote)
    if plain is None:
        raise reader.NotPlain(f"{path.name}: not one record per line")
    account.start(reader.Tally(preamble_lines=layout.header_line - 1, records=plain.records), dialect, [])
    account.read = "direct"
    if progress is not None:  # the pre-scan read every line
        progress("reading", layout.header_line + plain.records, 1.0)
        progress("parsing", 0, 0.0)
    spill = scratch_dir if scratch_dir is not None else Path(tempfile.gettempdir())
    first_line = layout.header_line + 1
    for table in reader.stream_plain(path, plain, header_line=layout.header_line, width=layout.width,
                                     columns=read.columns, delimiter=dialect.delimiter, quote=dialect.quote,
                                     scratch=spill, params=read.params, batch_rows=batch_rows):
        if progress is not None and first_line == layout.header_line + 1:  # parsed as it is checked
            progress("parsing", plain.records, 1.0)
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        yield frame.with_columns(pl.int_range(first_line, first_line + frame.height, dtype=pl.Int64)
                                 .alias("_line")).select("_line", *frame.columns)
        first_line += frame.height


def _read_by_record(path: Path, layout: FileLayout, scratch: Path, batch_rows: int,
                    progress: reader.Progress | None, read: ReadColumns) -> tuple[reader.StrictRead, reader.Tally]:
    dialect = layout.dialect
    tally = reader.Tally()
    lines = reader.physical_lines(path, dialect.encoding)  # encoding detected once, by sniff
    if progress is not None:
        lines = reader.counted_lines(lines, path.stat().st_size, progress)
    records = reader.split_records(lines, layout.header_line, dialect.delimiter, dialect.quote, tally)
    try:
        strict = reader.read_records(records, width=layout.width, columns=read.columns,
                                     delimiter=dialect.delimiter, quote=dialect.quote, scratch=scratch,
                                     batch_rows=batch_rows, progress=progress, params=read.params)
    except reader.Unreadable as err:
        raise FileRejected(f"{path.name}: {err}") from err
    except duckdb.Error as err:
        raise FileRejected(f"{path.name}: unreadable as {layout.format.label}: {str(err).splitlines()[0]}") from err
    return strict, tally


@dataclass
class FileAccount:
    """Where every record of a file went. records = landed + quarantined + non-data + merged, or the
    file is refused: nothing is lost without a trace."""

    encoding: str = ""
    delimiter: str = ""
    preamble_lines: int = 0
    blank_lines: int = 0
    records: int = 0
    records_landed: int = 0
    records_quarantined: int = 0
    records_non_data: int = 0
    records_merged: int = 0
    refused: list = field(default_factory=list)  # reader.Rejected, handled by parse_batches
    read: str = "by record"  # or "direct": how the file was read (engine.stream_text_batches)
    _unplaced: list = field(default_factory=list)  # line arrays not yet accounted for

    def start(self, tally: reader.Tally, dialect: Dialect, refused: list) -> None:
        self.encoding = dialect.encoding.label
        self.delimiter = reader.DELIMITER_NAMES.get(dialect.delimiter, dialect.delimiter)
        self.preamble_lines, self.blank_lines, self.records = tally.preamble_lines, tally.blank_lines, tally.records
        self.refused = refused

    def place(self, seen, landed, quarantined, non_data) -> None:
        """Count one batch: `seen` are the lines that entered it, the others where they went."""
        seen, landed = _lines(seen), _lines(landed)
        quarantined = np.setdiff1d(_lines(quarantined), landed, assume_unique=True)
        non_data = np.setdiff1d(np.setdiff1d(_lines(non_data), landed, assume_unique=True), quarantined,
                                assume_unique=True)
        self.records_landed += len(landed)
        self.records_quarantined += len(quarantined)
        self.records_non_data += len(non_data)
        rest = np.setdiff1d(seen, np.concatenate([landed, quarantined, non_data]), assume_unique=True)
        if len(rest):
            self._unplaced.append(rest)

    def close(self, path: Path, merged: set) -> None:
        rest = np.unique(np.concatenate(self._unplaced)) if self._unplaced else np.array([], dtype=np.int64)
        is_merged = np.isin(rest, np.fromiter(merged, dtype=np.int64, count=len(merged)))
        self.records_merged = int(is_merged.sum())
        lost = rest[~is_merged]
        placed = self.records_landed + self.records_quarantined + self.records_non_data + self.records_merged
        if len(lost) or placed != self.records:
            lines = ", ".join(str(n) for n in lost[:5]) or "unknown"
            raise FileRejected(
                f"{path.name}: {self.records} records in the file but {placed} accounted for (landed "
                f"{self.records_landed}, quarantined {self.records_quarantined}, non-data {self.records_non_data}, "
                f"merged {self.records_merged}; lines not accounted for: {lines}); nothing was landed. "
                "This is a connector defect: report it with the file")

    def ledger(self) -> dict:
        counts = {k: v for k, v in self.__dict__.items()
                  if not k.startswith("_") and k not in ("refused", "records", "read")}
        return {"records_in_file": self.records, **counts}


def _lines(values) -> np.ndarray:
    """Sorted distinct line numbers; a batch's usually are already, and then need no sort."""
    lines = np.asarray(values, dtype=np.int64)
    if len(lines) < 2 or bool((lines[1:] > lines[:-1]).all()):
        return lines
    return np.unique(lines)


# --------------------------------------------------------------------------------------------
# typing and validation


def pii_hash(value: str) -> str:
    """Keyed, normalised hash of a personal identifier (HMAC-SHA256 with CWH_HASH_KEY).

    The same email hashes the same way in every feed, so identities join across channels without
    the email ever leaving the raw layer. Never without a key: a plain SHA-256 of an email is
    re-identified from any email list. Landing (`connectors.lake.land_file`, `cwh`) sets the home's
    key first (`connectors.secrets.ensure_hash_key`).
    """
    return pii_hashes([value])[0]


def pii_hashes(texts: Sequence[str]) -> list[str]:
    """`pii_hash` of each text, the key read once (a file has hundreds of thousands of emails)."""
    key = _hash_key()
    return [hmac.digest(key, text.strip().lower().encode(), "sha256").hex() for text in texts]


def _hash_key() -> bytes:
    key = os.environ.get("CWH_HASH_KEY", "").encode()
    if not key:
        raise RuntimeError("no key to hash personal data with: set CWH_HASH_KEY, or land files through "
                           "`cwh ingest` / connectors.lake.land_file, which create a per-home key")
    return key


# printable ASCII without surrounding spaces: strip() leaves it as it is, lower() is ASCII's
_PLAIN_ASCII = r"^[!-~](?:[ -~]*[!-~])?$"


def _hash_column(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """`pii_hash` of every value of the column, each distinct value hashed once; for plain ASCII
    values (the usual email) the normalising and the hex are done by polars, where they agree with
    Python's, and only the HMAC runs per value."""
    hashed = frame[name].str.starts_with(read_sql.HASHED)
    if hashed.all():  # every value hashed by the read (`read_sql`): unmark
        return frame.with_columns(pl.col(name).str.slice(1))
    texts = frame[name].filter(~hashed).drop_nulls().unique()
    is_plain = texts.str.contains(_PLAIN_ASCII)
    plain = texts.filter(is_plain)
    other = [t for t in texts.filter(~is_plain).to_list() if t.strip()]  # blank: no hash
    digest = partial(hmac.digest, _hash_key(), digest="sha256")
    digests = pl.Series(list(map(digest, plain.str.to_lowercase().cast(pl.Binary).to_list())), dtype=pl.Binary)
    keys = pl.concat([plain, pl.Series(other, dtype=pl.String)])
    hashes = pl.concat([digests.bin.encode("hex"), pl.Series(pii_hashes(other), dtype=pl.String)])
    rest = pl.col(name).replace_strict(keys, hashes, default=None, return_dtype=pl.String)
    return frame.with_columns(pl.when(hashed).then(pl.col(name).str.slice(1)).otherwise(rest).alias(name))


_TYPE_WORDS = {"integer": "a whole number", "number": "a number", "boolean": "yes/no",
               "date": "a date", "timestamp": "a date-time"}


def _parse_column(column: Column, text: pl.Series, zone: str | None = None) -> pl.Series:
    """`zone`: the feed's `timezone` fact, the zone of its date-times written without an offset."""
    if column.type == "timestamp" and zone:
        return values.parse_local_timestamps(text, zone)
    if column.type.startswith("decimal"):
        precision, scale = column.decimal_spec
        return values.parse_series("decimal", text, precision, scale)
    return values.parse_series(column.type, text)


def _first_pass(column: Column, zone: str | None) -> pl.Expr | None:
    """`values.first_pass` of the column (none where the feed's zone reads date-times without an offset)."""
    if column.type == "timestamp" and zone:
        return None
    kind, (precision, scale) = (("decimal", column.decimal_spec) if column.type.startswith("decimal")
                                else (column.type, (None, None)))
    return values.first_pass(kind, pl.col(column.name), precision, scale)


def _completed(column: Column, text: pl.Series, first: pl.Series, zone: str | None) -> pl.Series:
    """The column typed: the first pass's values, and `_parse_column`'s for the texts it left null."""
    needs = text.is_not_null() & first.is_null()
    if not needs.any():
        return first
    rows = needs.arg_true()
    return first.clone().scatter(rows, _parse_column(column, text.gather(rows), zone))


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


def _implausible(contract: Contract, label: str, typed: pl.Series) -> pl.Series:
    """A date in 1970 or 9999 is a placeholder or a broken export, not an event: it would widen
    every build to decades of empty days."""
    low, high = contract.plausible_event_range()
    day = typed.dt.date() if typed.dtype != pl.Date else typed
    out = (day < low) | (day > high)
    text = day.cast(pl.String)
    return pl.DataFrame({"out": out, "text": text}).select(
        pl.when(pl.col("out")).then(pl.concat_str([
            pl.lit(f"{label}: "), pl.col("text"),
            pl.lit(f" is outside the plausible range {low}..{high} (contract plausible_event_dates)")]))
        .otherwise(None).alias("_plausible")).to_series()


def to_canonical(frame: pl.DataFrame, contract: Contract, layout: FileLayout) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(typed good rows, quarantine rows) from a text frame with canonical column names."""
    for name in contract.column_names:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(layout.constants.get(name), dtype=pl.String).alias(name))
    frame = frame.with_columns([values.clean_text(pl.col(n)).alias(n) for n in contract.column_names])
    for col in contract.columns:
        if col.pii == "hash" and frame.height:
            frame = _hash_column(frame, col.name)
    zone = layout.options.get("timezone")
    first = frame.select([expr.alias(col.name) for col in contract.columns
                          if (expr := _first_pass(col, zone)) is not None])
    typed, reasons = {}, []
    for col in contract.columns:
        if col.name in first.columns:
            typed[col.name] = _completed(col, frame[col.name], first[col.name], zone)
        else:
            typed[col.name] = _parse_column(col, frame[col.name], zone)
        missing = frame[col.name].null_count()
        if typed[col.name].null_count() > missing or (missing and not col.nullable):
            reasons.append(_reasons(col, f"column '{layout.mapping.get(col.name, col.name)}'",
                                    frame[col.name], typed[col.name]))
    event = contract.event_time_column
    reasons.append(_implausible(contract, f"column '{layout.mapping.get(event, event)}'", typed[event]))
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


def _blank(frame: pl.DataFrame) -> pl.Series:
    """Rows with no value in any column read (`,,,,` lines): not data."""
    value_cols = [c for c in frame.columns if c != "_line"]
    if not value_cols or not frame.height:
        return pl.Series([False] * frame.height, dtype=pl.Boolean)
    return frame.select(pl.all_horizontal([values.clean_text(pl.col(c)).is_null() for c in value_cols])).to_series()


def _refused_rows(refused: list, contract: Contract, layout: FileLayout) -> tuple[pl.DataFrame, list[int]]:
    """Quarantine rows for records the reader refused, and the lines of those that are not data
    (a footnote or total line with fewer fields, an all-empty row)."""
    fmt, delimiter = layout.format, layout.dialect.delimiter
    rows, non_data = [], []
    pii = {c.name for c in contract.columns if c.pii == "hash"}
    for rejected in refused:
        text = delimiter.join(rejected.fields)
        if not any(f.strip() for f in rejected.fields) or (fmt.non_data_line and fmt.non_data_line(text)):
            non_data.append(rejected.line)
            continue
        by_position = {}
        for canonical, index in layout.positions.items():
            if index < len(rejected.fields) and rejected.fields[index].strip():
                value = rejected.fields[index]
                by_position[layout.mapping[canonical]] = pii_hash(value) if canonical in pii else value
        by_position["_note"] = f"values by position; the row has {len(rejected.fields)} fields"
        rows.append({"line": rejected.line, "reason": rejected.reason,
                     "raw_values": json.dumps(by_position, ensure_ascii=False)})
    frame = pl.DataFrame(rows, schema={"line": pl.Int64, "reason": pl.String, "raw_values": pl.String})
    return frame, non_data


def _repeated_keys(good: pl.DataFrame, contract: Contract, layout: FileLayout,
                   state: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A file holds one row per primary key: a row repeating an earlier row's key (in any batch)
    is quarantined naming that row's line, never left for a dedupe to drop silently."""
    if not good.height:
        return good, _quarantine_rows(good.clear(), pl.Series([], dtype=pl.String), layout)
    key = list(contract.primary_key)
    rows = good.select(pl.struct(key).hash(seed=7).alias("h"), "_line")
    # the line each key was first seen on: an earlier batch's (`seen`), else this batch's first row's
    first = rows.select(pl.col("_line").first().over("h")).to_series()
    seen: pl.DataFrame | None = state.get("_key_lines")
    if seen is not None:
        earlier = rows.join(seen, on="h", how="left", maintain_order="left")["first_line"]
        first = earlier.fill_null(first)
        fresh = rows.filter(earlier.is_null())
    else:
        fresh = rows
    fresh = fresh.unique("h", keep="first", maintain_order=True).rename({"_line": "first_line"})
    state["_key_lines"] = fresh if seen is None else pl.concat([seen, fresh])
    repeat_of = pl.DataFrame({"first": first, "line": rows["_line"]}).select(
        pl.when(pl.col("first") != pl.col("line")).then(pl.col("first"))).to_series()
    mask = repeat_of.is_not_null()
    if not mask.any():
        return good, _quarantine_rows(good.clear(), pl.Series([], dtype=pl.String), layout)
    rows = good.filter(mask)
    names = ", ".join(layout.mapping.get(k, k) for k in key)
    reasons = pl.Series([f"repeats the key ({names}) of line {first}: the file has two rows for one "
                         f"{contract.feed} key; the first is landed, fix or remove the other"
                         for first in repeat_of.drop_nulls().to_list()], dtype=pl.String)
    text = rows.with_columns([pl.col(c).cast(pl.String) for c in rows.columns if c != "_line"])
    return good.filter(~mask), _quarantine_rows(text, reasons, layout)


def parse_batches(path: Path, contract: Contract, layout: FileLayout, batch_rows: int = BATCH_ROWS,
                  scratch_dir: Path | None = None, account: FileAccount | None = None,
                  progress: reader.Progress | None = None, direct: bool = True) -> Iterator[ParsedBatch]:
    """Typed batches of the file; at the end, every record is accounted for in `account` (landed,
    quarantined, non-data or merged into other rows by the connector) or the file is refused.
    Raises `ReadAgain` when the direct read fails after batches were handed on (see
    `stream_text_batches`): parse again, from a new account, with `direct=False`."""
    fmt = layout.format
    account = account if account is not None else FileAccount()
    state: dict = {"path": path, "layout": layout, "merged_lines": set()}
    schema = contract.arrow_schema(with_lineage=False)
    first = True
    read = ReadColumns.for_contract(contract, layout)
    for text in stream_text_batches(path, layout, batch_rows, scratch_dir, account, progress, read, direct):
        if first:
            first = False
            refused, refused_non_data = _refused_rows(account.refused, contract, layout)
            if refused.height or refused_non_data:
                account.place(refused["line"], [], refused["line"], refused_non_data)
                no_rows = schema.empty_table().append_column(pa.field("_line", pa.int64()), pa.array([], pa.int64()))
                yield ParsedBatch(no_rows, refused, len(refused_non_data))
        seen = text["_line"]
        blank = text[read_sql.BLANK] if read_sql.BLANK in text.columns else _blank(text)
        text = text.drop(read_sql.BLANK, strict=False)
        non_data_lines = [text.filter(blank)["_line"]]
        text = text.filter(~blank)
        if fmt.non_data is not None and text.height:
            mask = text.select(fmt.non_data(text, state)).to_series().fill_null(False)
            non_data_lines.append(text.filter(mask)["_line"])
            text = text.filter(~mask)
        if fmt.prepare is not None:
            text = fmt.prepare(text, state)
            missing = [c for c in fmt.derived if c not in text.columns]
            if missing:
                raise RuntimeError(f"connector bug: {fmt.name} prepare() did not produce {missing}")
        good, quarantine = to_canonical(text, contract, layout)
        good, repeated = _repeated_keys(good, contract, layout, state)
        if repeated.height:
            quarantine = pl.concat([quarantine, repeated])
        non_data = pl.concat(non_data_lines)
        account.place(seen, good["_line"], quarantine["line"], non_data)
        table = good.select(contract.column_names).to_arrow().cast(schema)
        table = table.append_column(pa.field("_line", pa.int64()), good["_line"].to_arrow())
        yield ParsedBatch(table, quarantine, len(non_data))
    if first and account.refused:  # every record refused: no batch came back from the reader
        refused, refused_non_data = _refused_rows(account.refused, contract, layout)
        account.place(refused["line"], [], refused["line"], refused_non_data)
        yield ParsedBatch(schema.empty_table().append_column(pa.field("_line", pa.int64()), pa.array([], pa.int64())),
                          refused, len(refused_non_data))
    if fmt.prepare is not None and "finish" in state:
        state["finish"]()
    account.close(path, state["merged_lines"])


@dataclass
class ParsedFile:
    """A whole file parsed in memory (tests, small files). The lake streams instead."""

    table: pa.Table
    quarantine: pl.DataFrame
    layout: FileLayout
    non_data_rows: int
    account: FileAccount | None = None

    @property
    def frame(self) -> pl.DataFrame:
        return pl.from_arrow(self.table)


def parse_file(path: Path | str, contract: Contract, formats: list[VendorFormat],
               options: Mapping[str, str] | None = None, others: OtherFeeds | None = None) -> ParsedFile:
    path = Path(path)
    layout = sniff(path, contract, formats, options or {}, others)
    for direct in (True, False):
        batches, quarantines, non_data = [], [], 0
        account = FileAccount()
        try:
            for parsed in parse_batches(path, contract, layout, account=account, direct=direct):
                batches.append(parsed.good)
                quarantines.append(parsed.quarantine)
                non_data += parsed.non_data_rows
            break
        except ReadAgain:
            continue
    schema = pa.schema([*contract.arrow_schema(with_lineage=False), pa.field("_line", pa.int64())])
    table = pa.concat_tables(batches) if batches else schema.empty_table()
    quarantine = pl.concat(quarantines) if quarantines else pl.DataFrame(
        schema={"line": pl.Int64, "reason": pl.String, "raw_values": pl.String})
    return ParsedFile(table, quarantine, layout, non_data, account)

