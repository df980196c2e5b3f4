"""The record accounting every landing relies on (connectors.engine.FileAccount): records in the file
= landed + quarantined + non-data + merged, each record counted once, or the file is refused.

The connectors' own tests only ever see balanced files; these tests break the balance on purpose
(a connector that drops a record, a record split into a landed and a quarantined row), so a change
that stops enforcing or miscounts it fails here (tests/mutants.yml)."""

import dataclasses
from pathlib import Path

import polars as pl
import pytest

from connectors.engine import FileAccount, FileRejected, parse_file
from connectors.registry import feed_spec

FX = "date,currency,rate_to_usd\n2026-05-01,EUR,1.0850\n2026-05-01,GBP,1.2610\n2026-05-02,EUR,1.0861\n"


def _account(records: int) -> FileAccount:
    account = FileAccount()
    account.records = records
    return account


def test_a_record_no_row_came_from_refuses_the_file_naming_its_line():
    account = _account(3)
    account.place(seen=[2, 3, 4], landed=[2, 4], quarantined=[], non_data=[])
    with pytest.raises(FileRejected, match=r"x\.csv: 3 records in the file but 2 accounted for .*"
                                           r"lines not accounted for: 3\)"):
        account.close(Path("x.csv"), merged=set())


def test_a_record_the_reader_counted_but_no_batch_saw_refuses_the_file():
    account = _account(3)
    account.place(seen=[2, 3], landed=[2, 3], quarantined=[], non_data=[])
    with pytest.raises(FileRejected, match="3 records in the file but 2 accounted for"):
        account.close(Path("x.csv"), merged=set())


def test_a_record_with_a_landed_and_a_quarantined_row_counts_once_as_landed():
    account = _account(3)
    # record 3 became two rows (an unpivot): one landed, one quarantined
    account.place(seen=[2, 3, 4], landed=[2, 3, 3], quarantined=[3, 4], non_data=[4])
    account.close(Path("x.csv"), merged=set())
    assert (account.records_landed, account.records_quarantined, account.records_non_data) == (2, 1, 0)


def test_a_record_merged_into_other_rows_is_accounted_for():
    account = _account(3)
    account.place(seen=[2, 3, 4], landed=[2, 3], quarantined=[], non_data=[])
    account.close(Path("x.csv"), merged={4})
    assert account.records_merged == 1
    assert account.ledger()["records_in_file"] == 3


def test_a_connector_that_drops_a_record_has_its_file_refused(tmp_path):
    """End to end through parse_file: a prepare() that silently filters out a row."""
    spec = feed_spec("fx_rates")
    path = tmp_path / "fx.csv"
    path.write_text(FX)
    assert parse_file(path, spec.contract, list(spec.formats)).table.num_rows == 3  # the format as shipped

    def dropping_line_3(fmt):
        def prepare(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
            frame = fmt.prepare(frame, state) if fmt.prepare is not None else frame
            return frame.filter(pl.col("_line") != 3)
        return dataclasses.replace(fmt, prepare=prepare)

    lossy = [dropping_line_3(fmt) for fmt in spec.formats]
    with pytest.raises(FileRejected, match=r"lines not accounted for: 3\).*connector defect"):
        parse_file(path, spec.contract, lossy)
