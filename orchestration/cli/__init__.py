"""`cwh`: the command line of the channel contribution warehouse (entry point `orchestration.cli:main`).

Everything it writes lives under the project home (`CWH_HOME`, default `./data`). One module per
command group; importing them registers their commands on the app.
"""

# registered in this order: the order in which cwh --help lists them
from orchestration.cli import bench, demo, feeds, run, warehouse, sql, finance, reports  # noqa: F401, I001
from orchestration.cli.app import app
from orchestration.batch_gc import collect_less_often
from orchestration.quick_exit import run_then_exit

__all__ = ["app", "main"]


def main() -> None:
    """The `cwh` script: the app, collecting garbage as a batch process (orchestration/batch_gc.py), then an
    exit that skips the heap's teardown (orchestration/quick_exit.py)."""
    collect_less_often()
    run_then_exit(app)
