"""Per-value work done inside the DuckDB read of a file (`reader.read_plain`, `reader.read_records`),
generated from the contract: vectorised, on DuckDB's threads, while the CSV is parsed.

- Personal fields (`pii: hash`) are replaced by the keyed hash `engine.pii_hash` gives, for values
  that are printable ASCII without surrounding spaces (the usual email; there DuckDB's lower() is
  Python's): HMAC-SHA256 (RFC 2104) in SQL, the key's pads passed as parameters, never in the SQL
  text. The digest is marked with a leading NUL (a byte no record read can hold: both reads refuse
  it) so that `engine._hash_column` tells it from a value it still has to hash in Python.
- `_blank`: the record has no value in any column read (every field empty or whitespace, as
  `values.clean_text` trims it: Unicode White_Space), a row that is not data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from connectors.contracts import Contract

# Unicode White_Space: what polars' strip_chars() (Rust's trim) removes
SPACE = r"[\t\n\x0B\f\r\x{85}\pZ]"
HASHED = "\x00"  # prefix of a value the read already hashed
BLANK = "_blank"
_PLAIN_ASCII = "[!-~]([ -~]*[!-~])?"


def _field(index: int) -> str:
    return f"f{index}"


def hashed(text: str) -> str:
    """SQL: the marked keyed hash of `text` when it is plain ASCII, else `text` itself."""
    digest = f"sha256($2 || unhex(sha256($1 || encode(lower({text})))))"
    return f"CASE WHEN regexp_full_match({text}, '{_PLAIN_ASCII}') THEN chr(0) || {digest} ELSE {text} END"


def blank(texts: list[str]) -> str:
    """SQL: every one of `texts` is NULL or whitespace only (a CASE, so that the test stops at the
    first field with a value: one field per usual row)."""
    if not texts:
        return "false"
    tests = " ".join(f"WHEN NOT ({t} IS NULL OR regexp_full_match({t}, '{SPACE}*')) THEN false" for t in texts)
    return f"CASE {tests} ELSE true END"


def projection(contract: Contract, positions: Mapping[str, int], hashing: bool = True) -> dict[str, str]:
    """Output column → SQL over the record's fields `f<i>`: the columns read (`positions`, canonical
    name → field index), personal ones hashed (`hashing`: the key is given), and `_blank`."""
    personal = {c.name for c in contract.columns if c.pii == "hash"} if hashing else set()
    out = {name: hashed(_field(i)) if name in personal else _field(i) for name, i in positions.items()}
    out[BLANK] = blank([_field(i) for i in positions.values()])
    return out


def needs_key(contract: Contract, positions: Mapping[str, int]) -> bool:
    return any(c.pii == "hash" and c.name in positions for c in contract.columns)


def key_params(key: bytes) -> list[bytes]:
    """HMAC's inner and outer padded keys, $1 and $2 of `hashed` (a key longer than SHA-256's
    64-byte block is hashed first, as RFC 2104 says)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return [bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)]
