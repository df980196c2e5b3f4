"""Pinterest Ads: the ads reporting export (CSV), at campaign, ad group or ad level.

The export does not state its currency ("Spend in account currency"): the user declares the ad
account's currency once as a feed option (or a file carrying a `Currency` column is read from it).
Levels the export does not break down by hold `(all)`. Breakdown exports (age, gender, device…) keep
the breakdown in `breakdown`; staging sums the rows to the campaign / ad group / ad and day.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors.engine import H, VendorFormat
from connectors.registry_helpers import parse_table
from connectors.vendors.ad_platforms import (
    breakdown_inputs,
    currency_hint,
    fill_levels,
    label_breakdown,
    normalise_currency,
    round_decimals,
)

FEED = "pinterest_ads"
CURRENCY_HINT = currency_hint(
    FEED, "Pinterest exports do not state their currency ('Spend in account currency')")


GRAIN = ("date", "campaign_name", "ad_group_name", "ad_name")


def _prepare(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    frame = fill_levels(frame)
    frame = normalise_currency(frame, state)
    frame = label_breakdown(frame, state, GRAIN)
    frame = round_decimals(frame, "spend", 6)
    return round_decimals(frame, "conversion_value", 2)


EXPORT_CSV = VendorFormat(
    name="pinterest_ads_export_csv",
    label="Pinterest Ads reporting export (CSV)",
    columns={
        "date": H("Date"),
        "campaign_id": H("Campaign ID"),
        "campaign_name": H("Campaign name"),
        "ad_group_name": H("Ad group name"),
        "ad_name": (H("Ad name"), H("Promoted pin name"), H("Pin promotion name")),
        "campaign_type": H("Campaign objective"),
        "currency": H("Currency"),
        "spend": H("Spend in account currency"),
        "impressions": H("Impressions"),
        "reach": H("Reach"),
        "clicks": H("Outbound clicks"),
        "saves": H("Saves"),
        "engagements": H("Engagements"),
        "conversions": H("Total conversions (Checkout)"),
        "conversion_value": H("Total order value (Checkout)"),
        **breakdown_inputs("Age", "Gender", "Country", "Region", "Device", "Placement", "Targeting type"),
    },
    derived=("breakdown",),
    prepare=_prepare,
    options={"currency": CURRENCY_HINT},
    known_headers=(
        "Ad group ID", "Ad ID", "Pin ID", "Advertiser ID", "Advertiser name", "Campaign status",
        "Ad group status", "CTR", "Outbound CTR", "CPC", "CPM", "Engagement rate", "Pin clicks",
        "Total ROAS (Checkout)", "Frequency",
    ),
)

FORMATS = {FEED: [EXPORT_CSV]}


def parse_report(path: Path | str, **options: str) -> pa.Table:
    """Daily campaign / ad group rows of a Pinterest Ads export (pass currency="USD" if the
    export has no Currency column and no feed option declares it)."""
    return parse_table(FEED, path, options)
