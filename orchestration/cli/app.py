"""The `cwh` Typer app and what every command module shares: the console and the project home.

Command modules register their commands on `app` when imported (orchestration/cli/__init__.py
imports them all); none of them imports another.
"""

from __future__ import annotations

import sys
import warnings

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Channel contribution warehouse: land vendor exports, build the channel P&L.")
# piped output (make, CI logs) gets wide tables instead of rich's 80-column default
console = Console() if sys.stdout.isatty() else Console(width=200)
# Dagster's notices about its own beta APIs (code references, backfill policies) are for whoever edits
# orchestration/defs/, not for a terminal user of cwh
warnings.filterwarnings("ignore", module=r"dagster(_dbt)?\.")
warnings.filterwarnings("ignore", message=r".*(is currently in beta|is currently in preview)")
# PySpark's notice about pandas versions, printed when dbt's adapters load during a night
warnings.filterwarnings("ignore", category=FutureWarning, module=r"pyspark\.")


def _home():
    from connectors.home import Home

    return Home.from_env()
