"""`cwh demo`: generate demo landing files for every feed, with the generator's ground truth.

Everything it writes lives under the project home (`CWH_HOME`, default `./data`).
"""

from __future__ import annotations

import shutil
from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from orchestration.cli.app import _home, app, console
from orchestration.cli.options import date_option

# folders `cwh demo --reset` may clear: everything generated, never the user's config
RESETTABLE = ("landing", "lake", "demo", "warehouse", "outputs")


@app.command()
def demo(
    days: Annotated[int, typer.Option(help="Days of history to generate.", min=1)] = 120,
    orders_per_day: Annotated[int, typer.Option(help="Orders per day across all channels.", min=1)] = 60,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 7,
    end: Annotated[date, date_option("--end", help="Last day of the generated history (YYYY-MM-DD).")] = "2026-10-31",
    messy: Annotated[bool, typer.Option(
        help="Add realistic defects (bad dates, blank amounts, a duplicated file…).")] = False,
    reset: Annotated[bool, typer.Option(
        help="Delete landing/, lake/, demo/, warehouse/ and outputs/ of the home first.")] = False,
) -> None:
    """Generate demo landing files for every feed, with the generator's ground truth."""
    from orchestration.demo import generate

    home = _home()
    if reset:
        for name in RESETTABLE:
            shutil.rmtree(home.root / name, ignore_errors=True)
    with console.status("generating demo data…") as status:
        summary = generate(home.root, days=days, orders_per_day=orders_per_day, seed=seed,
                           end=end, messy=messy,
                           progress=lambda msg: status.update(f"generating demo data… {msg}"))
    table = Table("feed", "files", "rows", title=f"Demo data in {home.root / 'landing'}")
    for feed, info in summary.items():
        if isinstance(info, dict):
            table.add_row(feed, str(info.get("files", "")), f"{info.get('rows', 0):,}")
    console.print(table)
    console.print(f"ground truth: {summary.get('truth_dir', home.root / 'demo' / 'truth')}")
