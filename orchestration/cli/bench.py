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
        "--compare", help="Only print the table of the sizes already measured (bench-<lines>.json).")] = False,
    generate_only: Annotated[bool, typer.Option(
        "--generate-only", help="Only generate (or find cached) the data sets; measure nothing.")] = False,
    history_days: Annotated[int | None, typer.Option(
        help="Days of history before the new day (default: 2025-01-01 .. 2026-10-31); fewer for a quick check.",
        min=30)] = None,
    reuse_data: Annotated[bool, typer.Option(
        "--reuse-data", help="Keep a cached data set even when another version of the demo generator "
                             "wrote it (the default regenerates it).")] = False,
) -> None:
    """Full and incremental nightly runs by stage (wall time, peak memory), the lower bound and pandas
    on the same vendor files, their agreement, and issue 17's figures against their goals in one
    table. Data sets are cached under the output folder; results go to bench-<lines>.json there and
    the table of every size measured to bench-summary.json."""
    from orchestration.bench import runner as b

    sizes = sorted(lines or [1_000_000])
    history_days = history_days or b.HISTORY_DAYS
    root = (out or _home().root / "bench").resolve()
    root.mkdir(parents=True, exist_ok=True)
    if generate_only:
        for size in sizes:
            info = b.ensure_dataset(root / str(size), size, console.print, history_days, reuse=reuse_data)
            how = "cached" if info["cached"] else f"generated in {info['generate_seconds']:,.0f} s"
            console.print(f"{size:,} lines: {info['landing_mb']:,} MB of vendor files, {how} "
                          f"({root / str(size) / 'source'})")
        return
    if not compare_only:
        for size in sizes:
            with console.status(f"bench {size:,} lines…") as status:
                def progress(msg: str, size: int = size, status=status) -> None:  # bound now: B023
                    status.update(f"bench {size:,}: {msg}")

                figures = b.run(size, root, progress=progress, explain=explain,
                                history_days=history_days, reuse_data=reuse_data)
            b.render(figures, console)
            console.print(f"figures: {root / f'bench-{size}.json'}")
    if not any((root / f"bench-{size}.json").exists() for size in sizes):
        console.print(f"No figures for {', '.join(f'{n:,}' for n in sizes)} lines under {root}: "
                      "run `cwh bench` with the same --lines first (or pass --out where they are).")
        raise typer.Exit(1)
    result = b.compare(root, sizes, console)
    console.print(f"every figure against its goal: {root / 'bench-summary.json'}")
    if result.get("held"):  # a night that stopped early measured nothing: a failed benchmark
        console.print("A benchmarked night was held: see its reason above and its home's ops/failures/.")
        raise typer.Exit(1)
