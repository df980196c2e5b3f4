"""Reading a delimited vendor file exactly: every record found, numbered by its true line, counted.

Vendors' files come in UTF-8 (with or without BOM), UTF-16 (Google Ads' "Excel CSV"), Windows-1252
(Excel on Windows, Amazon's CSV downloads) or UTF-8 with a few stray Windows-1252 bytes; with LF,
CRLF or CR-only line ends; comma, tab or semicolon separated. Nothing here guesses silently:

1. `detect_encoding` reads the whole file once (a UTF-8 check runs at C speed) and names the
   encoding; no file is ever rejected for its encoding alone.
2. `physical_lines` yields the file's lines as UTF-8 bytes whatever the encoding, so the header
   sniffing and the record split see the same lines.
3. `split_records` turns lines into records (a quoted field may span lines), numbered by the
   physical line they start on; blank lines are counted, not records.
4. `read_records` writes the records to a scratch file, each prefixed with its own line number,
   and reads it with DuckDB's CSV reader with everything pinned (delimiter, quote, no comment
   character, no header, the column count): a record whose field count differs from the header's
   is rejected by DuckDB and comes back with its line number, never silently padded or dropped.
   DuckDB's count of records must equal ours, or the file is refused.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa

CHUNK_BYTES = 4 << 20
MAX_RECORD_BYTES = 16 << 20
# DuckDB's CSV buffer; by default 16 × max_line_size (256 MB), more than the readers' memory limit:
# every file over 256 MB was refused with "could not allocate block"
BUFFER_BYTES = 2 * MAX_RECORD_BYTES
# file signatures of things users drop that are not delimited text
BINARY_SIGNATURES = {
    b"PK\x03\x04": "an Excel workbook or a zip archive (.xlsx/.zip): open it and save it as CSV",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls): open it and save it as CSV",
    b"%PDF": "a PDF document: download the report as CSV or TSV instead",
}
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
# How far the landing of a big file is, for a person watching: (stage, rows so far, fraction of the
# stage done). Stages: "reading" (the file split into records: lines read, share of its bytes),
# "parsing" (DuckDB's strict read of the records), "checking" (rows typed against the contract).
Progress = Callable[[str, int, float], None]
PROGRESS_EVERY_LINES = 1 << 16

# Windows-1252 leaves five bytes undefined; they decode as their Latin-1 code points
_CP1252_HOLES = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


def _cp1252_byte(byte: int) -> str:
    return chr(byte) if byte in _CP1252_HOLES else bytes([byte]).decode("cp1252")


def _stray_bytes_as_cp1252(err: UnicodeDecodeError) -> tuple[str, int]:
    """Decode error handler: the offending byte is read as Windows-1252, one byte at a time."""
    return _cp1252_byte(err.object[err.start]), err.start + 1


codecs.register_error("cwh-cp1252", _stray_bytes_as_cp1252)
_VALID_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


class NotText(Exception):
    """The file is not delimited text (a workbook, a PDF…); the message says what to do."""


class Unreadable(Exception):
    """The records cannot be told apart or counted; the message names the line and what to do."""


@dataclass(frozen=True)
class Encoding:
    """How a file's bytes become text. `codec`/`errors` are Python's; `label` goes to the ledger."""

    label: str
    codec: str
    errors: str = "strict"

    @property
    def passthrough(self) -> bool:
        """UTF-8 already: lines are used as they are, no decoding pass."""
        return self.codec in ("utf-8", "utf-8-sig") and self.errors == "strict"


UTF8 = Encoding("utf-8", "utf-8")
UTF8_BOM = Encoding("utf-8 (BOM)", "utf-8-sig")
CP1252 = Encoding("windows-1252", "cp1252", "cwh-cp1252")
UTF8_STRAY_CP1252 = Encoding("utf-8 with stray windows-1252 bytes", "utf-8", "cwh-cp1252")


def detect_encoding(path: Path) -> Encoding:
    with path.open("rb") as handle:
        head = handle.read(4096)
    for signature, what in BINARY_SIGNATURES.items():
        if head.startswith(signature):
            raise NotText(f"{path.name} is {what}")
    if head.startswith(codecs.BOM_UTF8):
        return UTF8_BOM if _is_utf8(path) else UTF8_STRAY_CP1252
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Encoding("utf-16 (BOM)", "utf-16", "replace")
    utf16 = _utf16_without_bom(head)
    if utf16:
        return Encoding(f"{utf16} (no BOM)", utf16, "replace")
    if _is_utf8(path):
        return UTF8
    return UTF8_STRAY_CP1252 if _mostly_utf8(path) else CP1252


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without a BOM: ASCII characters leave every other byte NUL."""
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.7 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.7 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
                if chunk.isascii() and not decoder.getstate()[0]:
                    continue  # ASCII is UTF-8 (no sequence pending from the chunk before): no decoding
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _mostly_utf8(path: Path) -> bool:
    """A UTF-8 file with a few stray bytes, rather than a Windows-1252 file: most of its non-ASCII
    bytes form valid UTF-8 sequences (a Windows-1252 file almost never does)."""
    valid = high = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            valid += sum(len(m) for m in _VALID_MULTIBYTE.findall(chunk))
            high += len(_HIGH_BYTE.findall(chunk))
    return valid > (high - valid)


def physical_lines(path: Path, encoding: Encoding) -> Iterator[bytes]:
    """The file's lines as UTF-8 bytes, each with its own line end (LF, CRLF or CR)."""
    if encoding.passthrough and not _cr_only(path):
        with path.open("rb") as handle:
            first = True
            for line in handle:
                if first:
                    first = False
                    if line.startswith(codecs.BOM_UTF8):
                        line = line[len(codecs.BOM_UTF8):]
                yield line
        return
    # newline="": lines split on LF, CRLF or CR, each returned with its own line end
    with path.open("r", encoding=encoding.codec, errors=encoding.errors, newline="") as handle:
        for number, line in enumerate(handle):
            if number == 0:
                line = line.lstrip("\ufeff")
            yield line.encode("utf-8", "surrogatepass")


def counted_lines(lines: Iterator[bytes], size: int, progress: Progress) -> Iterator[bytes]:
    """`lines` passed through, reporting lines read and the share of the file's `size` bytes they
    make up (UTF-8 bytes: a transcoded file's share is close, not exact)."""
    read = count = 0
    for count, line in enumerate(lines, start=1):
        read += len(line)
        if count % PROGRESS_EVERY_LINES == 0:
            progress("reading", count, min(read / size, 1.0) if size else 1.0)
        yield line
    progress("reading", count, 1.0)


def _cr_only(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    return b"\r" in head and b"\n" not in head


# --------------------------------------------------------------------------------------------
# records


class Record(NamedTuple):
    """One record of the file (a named tuple: millions are made per file)."""

    line: int  # physical line the record starts on (1-based)
    text: bytes  # UTF-8, without its final line end
    last_line: int
    closed: bool = True  # False: the file ended inside a quoted field of this record


@dataclass
class Tally:
    """What the record split saw, for the ledger."""

    preamble_lines: int = 0  # title lines before the header
    blank_lines: int = 0
    records: int = 0


class _QuoteState:
    """Whether a record continues on the next line: a quote opens a field only at the start of
    a field (as DuckDB and RFC 4180 read it; a `5" screen` inside a value is literal), and `""`
    inside a quoted field is an escaped quote."""

    def __init__(self, delimiter: bytes, quote: bytes):
        self.delimiter, self.quote = delimiter, quote
        d, q = re.escape(delimiter), re.escape(quote)
        # a whole line of well-formed fields: the common case, decided by one C-speed match
        # (possessive quantifiers: no backtracking, ~5x faster on long rows)
        field_re = rb"(?:" + q + rb"(?:[^" + q + rb"]++|" + q + q + rb")*+" + q + rb"|[^" + q + d + rb"\r\n]*+)"
        self._well_formed = re.compile(field_re + rb"(?:" + d + field_re + rb")*+\r?\n?")

    def ends_inside(self, line: bytes, inside: bool) -> bool:
        q = self.quote
        if not inside:
            quotes = line.count(q)
            if not quotes or (quotes % 2 == 0 and self._well_formed.fullmatch(line)):
                return False
        pos = line.find(q)
        while pos != -1:
            if inside:
                if line[pos + 1:pos + 2] == q:
                    pos = line.find(q, pos + 2)
                    continue
                inside = False
            elif pos == 0 or line[pos - 1:pos] == self.delimiter:
                inside = True
            pos = line.find(q, pos + 1)
        return inside


def split_records(lines: Iterator[bytes], header_line: int, delimiter: str, quote: str,
                  tally: Tally) -> Iterator[Record]:
    """Records after the header line; a quoted field may span lines. Blank lines are counted."""
    state = _QuoteState(delimiter.encode(), quote.encode()) if quote else None
    number = 0
    for number, _line in enumerate(lines, start=1):  # consumes the preamble and the header
        if number >= header_line:
            break
    tally.preamble_lines = max(0, header_line - 1)
    pending: list[bytes] = []
    start = 0
    inside = False
    quote_byte = quote.encode() if quote else None
    records = 0
    for number, line in enumerate(lines, start=header_line + 1):
        if not pending:
            if line.isspace() or not line:
                tally.blank_lines += 1
                continue
            if quote_byte is None or quote_byte not in line:  # the common case, kept cheap
                records += 1
                yield Record(number, line.rstrip(b"\r\n"), number)
                continue
            start = number
        pending.append(line)
        inside = state.ends_inside(line, inside)
        if inside:
            continue
        text = b"".join(pending).rstrip(b"\r\n")
        pending = []
        records += 1
        yield Record(start, text, number)
    tally.records = records
    if pending:
        tally.records += 1
        yield Record(start, b"".join(pending).rstrip(b"\r\n"), number, closed=False)


def head_lines(path: Path, encoding: Encoding, count: int) -> list[str]:
    """The first `count` physical lines as text (for finding the header)."""
    out = []
    for line in physical_lines(path, encoding):
        out.append(line.decode("utf-8", "replace").rstrip("\r\n"))
        if len(out) >= count:
            break
    return out


def split_fields(line: str, delimiter: str, quote: str = '"') -> list[str]:
    if quote:
        return next(csv.reader([line], delimiter=delimiter, quotechar=quote), [])
    return line.split(delimiter)


# --------------------------------------------------------------------------------------------
# the strict read


@dataclass
class Rejected:
    """A record the CSV reader could not take as a row of the header's shape."""

    line: int
    reason: str
    fields: list[str]


@dataclass
class StrictRead:
    """Outcome of reading the records: the scratch Parquet of good rows and what was refused."""

    parquet: Path
    rows: int
    rejected: list[Rejected] = field(default_factory=list)  # by the CSV reader
    refused: list[Rejected] = field(default_factory=list)  # before it: NUL bytes, a cut last record


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _reason(error_type: str, message: str, width: int) -> str:
    found = re.search(r"Found: (\d+)", message or "")
    fields = int(found.group(1)) - 1 if found else None  # our line-number prefix is not a field
    if error_type in ("MISSING COLUMNS", "TOO MANY COLUMNS") and fields is not None:
        hint = "cut short or misaligned" if fields < width else "a delimiter inside an unquoted value?"
        return f"the row has {fields} fields where the header has {width} ({hint})"
    if error_type == "UNQUOTED VALUE":
        return "a quote inside a quoted value is not doubled (\"\"), so the row cannot be split into fields"
    if error_type == "LINE SIZE OVER MAXIMUM":
        return f"the row is longer than {MAX_RECORD_BYTES >> 20} MB"
    return f"unreadable row ({error_type}: {message})"


def _projection(columns: Mapping[str, str]) -> str:
    return ", ".join(f'{sql} AS "{name.replace(chr(34), chr(34) * 2)}"' for name, sql in columns.items())


def read_records(records: Iterator[Record], *, width: int, columns: Mapping[str, str], delimiter: str,
                 quote: str, scratch: Path, batch_rows: int, progress: Progress | None = None,
                 params: Sequence[object] = ()) -> StrictRead:
    """Write the records (each prefixed with its line number) and read them back strictly.

    `columns`: output column → SQL expression over the record's fields `f0`, `f1`… (`params`: its
    parameters, $1…). Returns the good rows as an all-text Parquet file with
    `_line`, in file order, and the rejected records with their line and reason.
    """
    delim = delimiter.encode()
    text_path = scratch / "records.csv"
    refused: list[Rejected] = []
    written = 0
    with text_path.open("wb") as out:
        for record in records:
            reason = _refuse_before_reading(record, width, delimiter)
            if reason:
                clean = record.text.replace(b"\x00", b"").decode("utf-8", "replace")
                refused.append(Rejected(record.line, reason, split_fields(clean, delimiter, quote)))
                continue
            out.write(b"%d" % record.line + delim + record.text + b"\n")
            written += 1
    field_types = {"_line": "BIGINT", **{f"f{i}": "VARCHAR" for i in range(width)}}
    columns_sql = "{" + ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in field_types.items()) + "}"
    quote_sql = _sql_str(quote) if quote else "''"
    options = [
        f"columns = {columns_sql}", "header = false", "auto_detect = false", f"delim = {_sql_str(delimiter)}",
        f"quote = {quote_sql}", f"escape = {quote_sql}", "comment = ''", "strict_mode = true",
        "null_padding = false", "ignore_errors = true", "store_rejects = true",
        "rejects_table = 'cwh_rejects'", "rejects_scan = 'cwh_reject_scans'", "parallel = false",
        f"max_line_size = {MAX_RECORD_BYTES}", f"buffer_size = {BUFFER_BYTES}",
        "new_line = '\\n'",  # we end every record with LF
    ]
    parquet = scratch / "text.parquet"
    projection = ", ".join(['"_line"', _projection(columns)])
    with reader_cursor(scratch.parent) as con:
        query = f"SELECT {projection} FROM read_csv({_sql_str(str(text_path))}, {', '.join(options)})"
        with _reporting(con, progress, written):
            con.execute(f"COPY ({query}) TO {_sql_str(str(parquet))} "
                        f"(FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE {batch_rows})", list(params))
        rows = con.execute(f"SELECT count(*) FROM read_parquet({_sql_str(str(parquet))})").fetchone()[0]
        rejected = _rejects(con, width, delimiter, quote)
    text_path.unlink(missing_ok=True)
    if rows + len(rejected) != written:
        raise Unreadable(f"the CSV reader read {rows} rows and refused {len(rejected)} of the {written} records "
                         "counted in the file; export the file again (or report it to us with the file)")
    return StrictRead(parquet, rows, rejected, refused)


@contextmanager
def _reporting(con: duckdb.DuckDBPyConnection, progress: Progress | None, records: int,
               every_seconds: float = 0.5):
    """While DuckDB reads: its own progress (`query_progress`) passed on, polled from a thread; its
    terminal bar never printed (it would break the caller's display)."""
    con.execute("SET enable_progress_bar_print = false")
    if progress is None:
        yield
        return
    con.execute("SET enable_progress_bar = true")  # what query_progress reads
    done = threading.Event()

    def poll() -> None:
        while not done.wait(every_seconds):
            percent = con.query_progress()
            if percent >= 0:
                progress("parsing", records, percent / 100)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        yield
    finally:
        done.set()
        poller.join()
    progress("parsing", records, 1.0)


def _refuse_before_reading(record: Record, width: int, delimiter: str) -> str | None:
    """Records DuckDB must not see: NUL bytes, and a quoted field the file never closes (DuckDB
    would read it to the end of the file as one value and say nothing)."""
    if b"\x00" in record.text:
        return "the row contains NUL bytes (a damaged file?)"
    if record.closed:
        return None
    continuation = record.text.split(b"\n")[1:]
    if any(len(line.split(delimiter.encode())) >= width > 1 for line in continuation):
        raise Unreadable(
            f"line {record.line} opens a quoted field that never closes, so lines {record.line}-{record.last_line} "
            "would be read as one value; fix the stray quote on that line (or export the file again)")
    return (f"the file ends inside a quoted field opened on line {record.line} "
            f"(lines {record.line}-{record.last_line}): the file is cut short; export it again")


def _rejects(con: duckdb.DuckDBPyConnection, width: int, delimiter: str, quote: str) -> list[Rejected]:
    try:
        rows = con.execute("SELECT byte_position, error_type::VARCHAR, error_message, csv_line "
                           "FROM cwh_rejects ORDER BY byte_position").fetchall()
    except duckdb.CatalogException:
        return []
    out: dict[int, Rejected] = {}
    for _, error_type, message, csv_line in rows:
        text = csv_line or ""
        prefix = re.match(r"(\d+)", text)
        if prefix is None:
            raise Unreadable(f"the CSV reader refused a record it cannot place: {text[:80]!r}")
        line = int(prefix.group(1))
        if line in out:
            continue  # one record, several errors: the first says enough
        rest = text[prefix.end() + len(delimiter):]
        out[line] = Rejected(line, _reason(error_type, message, width), split_fields(rest, delimiter, quote))
    return list(out.values())


# --------------------------------------------------------------------------------------------
# the direct read: a plain file read by DuckDB as it is


@dataclass(frozen=True)
class PlainFile:
    """What the pre-scan proved about a file: every record is one physical line, so record n
    (0-based, after the header) starts on line `header_line + 1 + n`."""

    new_line: str  # "\n" or "\r\n", the only line end in the file
    records: int  # physical lines after the header


# ---- the reader's DuckDB ------------------------------------------------------------------------
# Opening a DuckDB database costs ~30 ms, paid by every landed file when each read opened its own:
# ~13 s of a full night's 450 files. One database per process (and per spill folder) serves every
# read through its own cursor; settings are the database's, so every read has the same ones.
_READER_SETTINGS = {"threads": 2, "memory_limit": "256MB", "preserve_insertion_order": True}
_reader_lock = threading.Lock()
_reader_db: tuple[int, Path, duckdb.DuckDBPyConnection] | None = None


@contextmanager
def reader_cursor(spill: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh cursor (its own temporary tables, closed after) on this process's reader database,
    spilling to `spill` (kept: a new database opens when the spill folder changes, or after a fork)."""
    global _reader_db
    spill = spill.resolve()
    with _reader_lock:
        if _reader_db is None or _reader_db[:2] != (os.getpid(), spill):
            if _reader_db is not None and _reader_db[0] == os.getpid():
                _reader_db[2].close()
            database = duckdb.connect(config={**_READER_SETTINGS, "temp_directory": str(spill)})
            _reader_db = (os.getpid(), spill, database)
        cursor = _reader_db[2].cursor()
    try:
        cursor.execute("SET enable_progress_bar_print = false")
        yield cursor
    finally:
        cursor.close()


_BLANK_LINE = re.compile(rb"\n[ \t\r\x0b\x0c]*\n")


def plain_file(path: Path, encoding: Encoding, header_line: int, delimiter: str, quote: str) -> PlainFile | None:
    """The file, when reading it record by record (`split_records`) would find exactly one record
    per line after the header: UTF-8, one kind of line end (LF or CRLF), no blank line, no NUL byte,
    no line that leaves a quoted field open. None otherwise (the record-by-record read is needed).
    Runs at C speed but for the lines that hold a quote character."""
    if not encoding.passthrough:
        return None
    state = _QuoteState(delimiter.encode(), quote.encode()) if quote else None
    lines = crs = crlfs = 0
    tail = b""
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            block = tail + chunk
            cut = block.rfind(b"\n") + 1
            body, tail = block[:cut], block[cut:]
            if len(tail) > MAX_RECORD_BYTES:
                return None
            if body and not _plain_lines(b"\n" + body, state):
                return None
            lines += body.count(b"\n")
            if b"\r" in body:  # a byte search; counting CR and CRLF costs 3x the LF count
                crs += body.count(b"\r")
                crlfs += body.count(b"\r\n")
    if tail:  # a last line without its line end
        if not tail.strip(b" \t\r\x0b\x0c") or not _plain_lines(b"\n" + tail + b"\n", state):
            return None
        lines += 1
        crs += tail.count(b"\r")
    if crs == 0:
        new_line = "\n"
    elif crs == crlfs == lines - (1 if tail else 0):
        new_line = "\r\n"
    else:
        return None  # CR-only or mixed line ends
    return PlainFile(new_line, lines - header_line) if lines > header_line else None


def _plain_lines(block: bytes, state: _QuoteState | None) -> bool:
    """`block`: whole lines, preceded by the previous line's LF. No blank line, no NUL byte, and
    every line with a quote closes its quoted fields."""
    if b"\x00" in block or _BLANK_LINE.search(block):
        return False
    if state is None:
        return True
    pos = block.find(state.quote)
    while pos != -1:
        start = block.rfind(b"\n", 0, pos) + 1
        end = block.find(b"\n", pos) + 1
        if state.ends_inside(block[start:end], False):
            return False
        pos = block.find(state.quote, end)
    return True


class NotPlain(Exception):
    """DuckDB did not read the file as the pre-scan promised (a record of another width, a row count
    other than the pre-scan's): it is read again, record by record."""


# The direct read streams while the rows are typed, so DuckDB's CSV buffers and the typed batches are
# held at once: smaller buffers and fetches keep a landing's memory as flat as the staged read's was
# (a 330 MB Shopify export peaked at 764 MB with 32 MB buffers and 50k-row fetches, 640-670 MB with these;
# the staged read, 601 MB).
# A longer line is not an error: DuckDB refuses it and the file is read record by record (up to
# MAX_RECORD_BYTES a record).
DIRECT_MAX_LINE_BYTES = 4 << 20
DIRECT_BUFFER_BYTES = 2 * DIRECT_MAX_LINE_BYTES
FETCH_ROWS = 8192  # rows DuckDB hands over at a time


def stream_plain(path: Path, plain: PlainFile, *, header_line: int, width: int, columns: Mapping[str, str],
                 delimiter: str, quote: str, scratch: Path, params: Sequence[object] = (),
                 batch_rows: int = FETCH_ROWS) -> Iterator[pa.Table]:
    """DuckDB's CSV reader on the file itself, with the same pinned dialect as `read_records`: the
    rows as text, in file order, in tables of `batch_rows` rows (the last one shorter), without
    `_line` (record n is on line header_line + 1 + n). Streamed, not staged in a scratch file: the
    rows go on to be typed while DuckDB reads on, and memory stays flat. Raises `NotPlain` when
    DuckDB meets a record it cannot read as a row of `width` fields, or when the row count differs
    from the pre-scan's (rows handed on before that are the caller's to discard)."""
    columns_sql = "{" + ", ".join(f"'f{i}': 'VARCHAR'" for i in range(width)) + "}"
    quote_sql = _sql_str(quote) if quote else "''"
    # LF pinned; CRLF left to DuckDB's default (LF, CR or CRLF: the pre-scan proved only CRLF occurs),
    # as DuckDB 2.0 reads no rows after `skip` with new_line = '\r\n'
    new_line = ["new_line = '\\n'"] if plain.new_line == "\n" else []
    options = [
        f"columns = {columns_sql}", "header = false", f"skip = {header_line}", "auto_detect = false",
        f"delim = {_sql_str(delimiter)}", f"quote = {quote_sql}", f"escape = {quote_sql}", "comment = ''",
        "strict_mode = true", "null_padding = false", "ignore_errors = false",
        f"max_line_size = {DIRECT_MAX_LINE_BYTES}", f"buffer_size = {DIRECT_BUFFER_BYTES}", "encoding = 'utf-8'",
        *new_line,
    ]
    query = f"SELECT {_projection(columns)} FROM read_csv({_sql_str(str(path))}, {', '.join(options)})"
    rows = 0
    with reader_cursor(scratch) as con:
        try:
            batches = con.sql(query, params=list(params) or None).to_arrow_reader(FETCH_ROWS)
            for table in _rebatched(batches, batch_rows):
                rows += table.num_rows
                yield table
        except (duckdb.Error, pa.ArrowException, OSError) as err:  # DuckDB's error, through Arrow's reader
            raise NotPlain(f"{path.name}: {(str(err).splitlines() or [type(err).__name__])[0]}") from None
    if rows != plain.records:
        raise NotPlain(f"{path.name}: DuckDB read {rows} rows where the pre-scan found {plain.records} lines")


def _rebatched(batches: pa.RecordBatchReader, batch_rows: int) -> Iterator[pa.Table]:
    """`batches` in tables of `batch_rows` rows (the last one shorter): zero-copy slices (the caller
    copies them once, into its own frames)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        while count >= batch_rows:
            table = pa.Table.from_batches(pending, batches.schema)
            yield table.slice(0, batch_rows)
            rest = table.slice(batch_rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending, batches.schema)
