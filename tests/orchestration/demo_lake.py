"""The dates of the clean demo lake the gate tests share (its fixtures are in conftest.py)."""

from datetime import UTC, date, datetime

LOGICAL = date(2026, 11, 1)  # the nightly run of Nov 1 covers data through Oct 31
END = date(2026, 10, 31)
LANDED_AT = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)  # the files are landed by the nightly run of Nov 1
