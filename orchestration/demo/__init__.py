"""Deterministic demo data for the channel contribution warehouse: vendor files + ground truth.

`generate(home)` writes every feed in its vendor's real format under `home/landing/<feed>/` and the
expected P&L / KPIs (computed from the simulated events, following docs/metrics.md) under
`home/demo/truth/`.
"""

from .generator import generate

__all__ = ["generate"]
