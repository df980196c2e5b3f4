"""`cwh bench`: the nightly run at scale against a hand-written DuckDB query (the lower bound) and
a pandas notebook (the usual alternative). Registered on the `cwh` app by importing this module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.app import _home, app, console


@app.command()
def bench(
    lines: Annotated[list[int] | None, typer.Option(
        help="Order lines to generate (repeat for several sizes).", min=1)] = None,
    out: Annotated[Path | None, typer.Option(
        help="Folder for data sets and results (default: $CWH_HOME/bench).")] = None,
    explain: Annotated[bool, typer.Option(help="Also save the lower bound's DuckDB EXPLAIN ANALYZE.")] = False,
    compare_only: Annotated[bool, typer.Option(
        "--compare", help="Only print the ratio table of sizes already measured.")] = False,
) -> None:
    """Full and incremental nightly runs by stage (wall time, peak memory), the lower bound and pandas
    on the same vendor files, their agreement, and each ratio against its goal. Data sets are cached
    under the output folder; results go to bench-<lines>.json there."""
    from orchestration.bench import runner as b

    sizes = lines or [1_000_000]
    root = (out or _home().root / "bench").resolve()
    root.mkdir(parents=True, exist_ok=True)
    if not compare_only:
        for size in sizes:
            with console.status(f"bench {size:,} lines…") as status:
                def progress(msg: str, size: int = size, status=status) -> None:  # bound now: B023
                    status.update(f"bench {size:,}: {msg}")

                figures = b.run(size, root, progress=progress, explain=explain)
            b.render(figures, console)
            console.print(f"figures: {root / f'bench-{size}.json'}")
    if compare_only or len(sizes) > 1:
        b.compare(root, sorted(sizes), console)
        console.print(f"ratios: {root / 'bench-ratios.json'}")
