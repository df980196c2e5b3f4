"""Resources: where the project home is."""

from pathlib import Path

import dagster as dg

from connectors.home import Home


class WarehouseHome(dg.ConfigurableResource):
    """The project home (landing/, lake/, databases, outputs). Empty root: CWH_HOME, else ./data."""

    root: str = ""

    def home(self) -> Home:
        return Home(Path(self.root).resolve()) if self.root else Home.from_env()
