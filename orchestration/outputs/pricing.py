"""Pricing notes of the readback: where two channels' price elasticities of the same SKU, category
or whole range differ materially (their 95% intervals do not overlap), a price rise costs one of
them less volume than the other (docs/metrics.md "Price elasticity")."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

LEVELS = ("channel", "category", "sku")  # the broadest comparison first
MAX_NOTES = 8


def _elasticity(row: dict) -> str:
    return f"{row['elasticity']:.1f} (95%: {row['ci95_low']:.1f} to {row['ci95_high']:.1f})"


def pricing_notes(rows: list[dict]) -> list[str]:
    """One sentence per pair of channels whose estimated elasticities of one subject differ materially
    (`rows`: marts.price_elasticity), broadest level first, at most MAX_NOTES."""
    subjects: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        if r["status"] == "estimated" and r["level"] in LEVELS:
            subjects[(r["level"], r["subject"])].append(r)
    notes = []
    for level, subject in sorted(subjects, key=lambda k: (LEVELS.index(k[0]), k[1])):
        for a, b in combinations(sorted(subjects[(level, subject)], key=lambda r: r["channel"]), 2):
            calm, steep = (a, b) if a["elasticity"] > b["elasticity"] else (b, a)
            if calm["ci95_low"] <= steep["ci95_high"]:
                continue  # the intervals overlap: no material difference
            what = "across its range" if level == "channel" else f"on {subject}"
            cost = "little" if calm["elasticity"] > -1 else "less"
            notes.append(f"A price rise on {calm['channel']} costs {cost} volume {what}: elasticity "
                         f"{_elasticity(calm)} against {_elasticity(steep)} on {steep['channel']}.")
    return notes[:MAX_NOTES]
