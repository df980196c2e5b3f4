"""What the readback's charts share: one colour per channel, figures as rounded JSON, and plotly.js
embedded once in a compressed form the page unpacks itself (templates/readback.html).

Channel colours follow the order of seeds/channels.csv (Okabe & Ito's colour-blind-safe palette),
so a channel has the same colour in every chart, every report and every month; `unallocated` is
grey, a channel the seed does not list takes the next free colour.
"""

from __future__ import annotations

import base64
import csv
import gzip
from collections.abc import Iterable
from functools import cache

from connectors.home import SEEDS_DIR

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#332288", "#999933", "#882255",
           "#44AA99")
UNALLOCATED, UNALLOCATED_COLOUR = "unallocated", "#8A8A8A"


@cache
def seed_channels() -> tuple[str, ...]:
    with (SEEDS_DIR / "channels.csv").open(newline="", encoding="utf-8") as handle:
        return tuple(row["channel"] for row in csv.DictReader(handle))


def channel_colours(channels: Iterable[str] = ()) -> dict[str, str]:
    """{channel: colour} for the seed's channels in seed order, then any other of `channels` (sorted)."""
    ordered = list(seed_channels()) + sorted(set(channels) - set(seed_channels()))
    colours, free = {}, iter(PALETTE * (1 + len(ordered) // len(PALETTE)))
    for channel in ordered:
        colours[channel] = UNALLOCATED_COLOUR if channel == UNALLOCATED else next(free)
    return colours


def round_money(value) -> float | None:
    return None if value is None else round(float(value), 2)


def figure_json(fig) -> str:
    """The figure's JSON, safe inside a <script type="application/json"> element."""
    return fig.to_json(validate=False, pretty=False, engine="json").replace("</", "<\\/")


@cache
def embedded_plotly_js() -> str:
    """plotly.min.js of the installed plotly, gzip-compressed (reproducibly: no timestamp), base64."""
    from plotly.offline import get_plotlyjs

    packed = gzip.compress(get_plotlyjs().encode("utf-8"), compresslevel=9, mtime=0)
    return base64.b64encode(packed).decode("ascii")


__all__ = ["channel_colours", "embedded_plotly_js", "figure_json", "round_money", "seed_channels"]
