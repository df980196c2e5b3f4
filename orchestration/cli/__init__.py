"""`cwh`: the command line of the channel contribution warehouse (entry point `orchestration.cli:app`).

Everything it writes lives under the project home (`CWH_HOME`, default `./data`). One module per
command group; importing them registers their commands on the app.
"""

from orchestration.cli import bench, commands, finance, reports  # noqa: F401  register the commands
from orchestration.cli.app import app

__all__ = ["app"]
