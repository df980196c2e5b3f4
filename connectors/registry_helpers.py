"""Small helpers connectors share: content keys for exports without ids, and `parse_table`."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import pyarrow as pa


def content_key(frame: pl.DataFrame, name: str, columns: list[str], state: dict) -> pl.DataFrame:
    """A stable key for rows of an export that has no id: SHA-1 of the row's values, with `#2`,
    `#3`… for rows identical in every value within the same file (counted across batches)."""
    present = [c for c in columns if c in frame.columns]
    if not frame.height:
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    joined = pl.concat_str([pl.col(c).fill_null("") for c in present], separator="\x1f")
    digests = [hashlib.sha1(v.encode()).hexdigest()[:20] for v in frame.select(joined).to_series().to_list()]
    seen: dict[str, int] = state.setdefault(f"_seen_{name}", {})
    keys = []
    for digest in digests:
        count = seen.get(digest, 0) + 1
        seen[digest] = count
        keys.append(digest if count == 1 else f"{digest}#{count}")
    return frame.with_columns(pl.Series(name, keys, dtype=pl.String))


def parse_table(feed: str, path: Path | str, options: Mapping[str, str] | None = None) -> pa.Table:
    """The canonical table of one file (rows that break the contract are left out; use
    `connectors.registry.parse` to see them with their reasons)."""
    from connectors.registry import parse

    return parse(feed, path, options).table
