"""The `cwh` Typer app and what every command module shares: the console and the project home.

Command modules register their commands on `app` when imported (orchestration/cli/__init__.py
imports them all); none of them imports another.
"""

from __future__ import annotations

import os
import sys
import warnings

import typer
from rich.console import Console
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit, TyperException

# piped output (make, CI logs) gets wide tables instead of rich's 80-column default
console = Console() if sys.stdout.isatty() else Console(width=200)


class _NoTracebackGroup(TyperGroup):
    """The app: an error no command explained itself still ends in a few readable lines and exit
    code 1, never a traceback (which goes to a file the user can send; CWH_DEBUG=1 shows it)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (Exit, Abort, TyperException):  # a command's own way out, a usage error
            raise
        except Exception as err:
            if os.environ.get("CWH_DEBUG"):
                raise
            console.print(_explain(err, ctx.invoked_subcommand or ""), soft_wrap=True, highlight=False, markup=False)
            raise typer.Exit(1) from None


def _explain(err: Exception, command: str) -> str:
    if isinstance(err, OSError) and err.strerror:  # a path that cannot be read or written, a full disk
        where = f" ({err.filename})" if err.filename else ""
        return f"cwh {command}: {err.strerror}{where}. Check that the path exists and can be written, and that " \
               "the disk has room."
    saved = _save_traceback(err)
    return (f"cwh {command} failed: {type(err).__name__}: {err}\n"
            f"This is a bug in cwh, not in your data. The details are in {saved}: please report it with "
            "that file (CWH_DEBUG=1 prints them here).")


def _save_traceback(err: Exception) -> str:
    """The full traceback in $CWH_HOME/ops/errors/ (else the temp folder): the user's terminal stays
    readable and the developer gets every frame."""
    import tempfile
    import traceback
    from datetime import UTC, datetime

    text = "".join(traceback.format_exception(err))
    name = f"cwh-error-{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}.txt"
    for folder in (os.path.join(os.environ.get("CWH_HOME", "data"), "ops", "errors"), tempfile.gettempdir()):
        try:
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(os.path.abspath(folder), name)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            return path
        except OSError:
            continue
    return "(nowhere: no folder could be written)"


app = typer.Typer(cls=_NoTracebackGroup, add_completion=False, no_args_is_help=True,
                  help="Channel contribution warehouse: land vendor exports, build the channel P&L.")
# Dagster's notices about its own beta APIs (code references, backfill policies) are for whoever edits
# orchestration/defs/, not for a terminal user of cwh
warnings.filterwarnings("ignore", module=r"dagster(_dbt)?\.")
warnings.filterwarnings("ignore", message=r".*(is currently in beta|is currently in preview)")
# PySpark's notice about pandas versions, printed when dbt's adapters load during a night
warnings.filterwarnings("ignore", category=FutureWarning, module=r"pyspark\.")


def _home():
    from connectors.home import Home

    return Home.from_env()
