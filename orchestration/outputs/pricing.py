"""Pricing notes of the readback: where two channels' price elasticities of the same category or
whole range differ materially (the difference is significant at 95%: |e1 − e2| ≥ 1.96 × √(se1² +
se2²)), a price rise costs one of them less volume than the other (docs/metrics.md "Price
elasticity"). SKU estimates are too noisy to compare one by one: they make no note."""

from __future__ import annotations

import math
from collections import defaultdict
from itertools import combinations

LEVELS = ("channel", "category")  # the broadest comparison first
Z_95 = 1.959964
MAX_NOTES = 8


def difference_z(a: dict, b: dict) -> float:
    """How many standard errors of their difference two independent estimates lie apart."""
    return abs(a["elasticity"] - b["elasticity"]) / math.hypot(a["std_error"], b["std_error"])


def _elasticity(row: dict) -> str:
    return f"{row['elasticity']:.1f} (80%: {row['ci80_low']:.1f} to {row['ci80_high']:.1f})"


def pricing_notes(rows: list[dict]) -> list[str]:
    """One sentence per pair of channels whose estimated elasticities of one category or range differ
    materially (`rows`: marts.price_elasticity): broadest level first, then the clearest difference,
    at most MAX_NOTES."""
    subjects: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        if r["status"] == "estimated" and r["level"] in LEVELS:
            subjects[(r["level"], r["subject"])].append(r)
    found = []
    for (level, subject), estimates in subjects.items():
        for a, b in combinations(sorted(estimates, key=lambda r: r["channel"]), 2):
            z = difference_z(a, b)
            if z < Z_95:
                continue  # no material difference
            calm, steep = (a, b) if a["elasticity"] > b["elasticity"] else (b, a)
            what = "across its range" if level == "channel" else f"on {subject}"
            cost = "little" if calm["elasticity"] > -1 else "less"
            found.append((LEVELS.index(level), -z, f"A price rise on {calm['channel']} costs {cost} volume {what}: "
                          f"elasticity {_elasticity(calm)} against {_elasticity(steep)} on {steep['channel']}."))
    return [note for *_, note in sorted(found)][:MAX_NOTES]
