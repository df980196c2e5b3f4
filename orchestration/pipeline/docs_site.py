"""The dbt documentation as one HTML file that opens from disk: `cwh docs`.

`dbt docs generate --static` writes `static_index.html` with the manifest and the catalog inside it,
so the page needs no web server (dbt's plain `index.html` fetches manifest.json and catalog.json,
which a browser refuses from file://). The catalog (column types, row counts) is read from the build
database, the audited copy of which is the published one. The page is copied to
`$CWH_HOME/outputs/docs/index.html`, swapped in whole, so an open copy is never half-written.
"""

from __future__ import annotations

import functools
import os
import shutil
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from connectors.home import Home, build_database
from orchestration.pipeline.dbt import BUILD_WINDOW, failures, run_dbt, snapshot_args
from orchestration.pipeline.run_lock import run_lock


class DocsError(RuntimeError):
    """The documentation could not be generated; the message says what to do."""


def docs_site(home: Home) -> Path:
    """The folder of the generated documentation page."""
    return home.root / "outputs" / "docs"


def generate(home: Home) -> Path:
    """Generate the documentation of the home's build and return the page (index.html). Raises
    DocsError, or RunLocked while a run holds the home."""
    if not build_database(home).exists():
        raise DocsError(f"nothing built yet ({build_database(home)}): `cwh run` (or `cwh build`) builds the "
                        "warehouse the documentation describes")
    with run_lock(home, "docs", command="cwh docs"):  # dbt reads the build database: not while a run writes it
        result = run_dbt(home, "docs", "generate", "--static", *_night_vars(home))
    if not result.success:
        raise DocsError("dbt docs generate failed: " + "; ".join(failures(result)))
    generated = home.root / "dbt" / "target" / "static_index.html"
    page = docs_site(home) / "index.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    tmp = page.with_name(f".{page.name}.{os.getpid()}.tmp")
    shutil.copyfile(generated, tmp)
    os.replace(tmp, page)
    return page


def _night_vars(home: Home) -> list[str]:
    """The nightly build's --vars when the build database holds its window: dbt keeps one partial-parse
    state per home, and other vars make both this and the next night's build parse the whole project."""
    import duckdb

    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        schema, table = BUILD_WINDOW.split(".")
        found = con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
                            [schema, table]).fetchone()[0]
    return snapshot_args() if found else []


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002  the base class's name
        pass  # one line per request would bury the address the user needs


def server(folder: Path, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """An HTTP server of `folder` on host:port (port 0: any free one); the caller serves and closes it.
    Raises OSError when the port is taken."""
    return ThreadingHTTPServer((host, port), functools.partial(_QuietHandler, directory=str(folder)))
