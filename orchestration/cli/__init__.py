"""`cwh`: the command line of the channel contribution warehouse (entry point `orchestration.cli:app`).

Everything it writes lives under the project home (`CWH_HOME`, default `./data`). One module per
command group; importing them registers their commands on the app.
"""

# registered in this order: the order in which cwh --help lists them
from orchestration.cli import bench, demo, feeds, run, warehouse, sql, finance, reports  # noqa: F401, I001
from orchestration.cli.app import app

__all__ = ["app"]
