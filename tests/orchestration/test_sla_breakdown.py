"""The volume gate counts a feed's grain, not its breakdown rows: a seller who switches to an
age × gender or device breakdown export must not see the day's volume multiply (or collapse)."""

import polars as pl
import pyarrow.parquet as pq

from connectors.contracts import get_contract
from orchestration.pipeline.gates.sla import volume
from tests.orchestration.demo_lake import END, LOGICAL


def test_volume_counts_the_grain_of_a_breakdown_export(lake):
    contract = get_contract("google_ads")
    before = volume(lake, contract, LOGICAL)
    raw = lake.raw("google_ads")
    day_rows = pl.concat([pl.read_parquet(p) for p in sorted(raw.glob("*.parquet"))]).filter(pl.col("date") == END)
    assert day_rows.height > 0
    split = pl.concat([day_rows.with_columns(pl.lit(f"Device={device}").alias("breakdown"))
                       for device in ("Mobile phones", "Computers", "Tablets")])
    pq.write_table(split.to_arrow(), raw / "breakdown_export.parquet")
    after = volume(lake, contract, LOGICAL)
    assert after.metadata["rows"] == before.metadata["rows"] == day_rows.select(
        [c for c in contract.primary_key if c != "breakdown"]).unique().height
