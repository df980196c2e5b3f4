"""Ingest benchmark: land an N-line Shopify orders export and report rows/s and peak memory.

The export is made by the demo generator (its monthly Shopify files concatenated into one), and
landed in a child process so the peak memory measured is the landing's alone.
"""

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from connectors.demo_data import generate

LINES_PER_ORDER_PER_DAY = 1.2  # Shopify lines per order of the generator's channel mix


def build_shopify_export(lines: int, workdir: Path) -> Path:
    days = 30
    orders_per_day = max(10, int(lines / days / LINES_PER_ORDER_PER_DAY))
    generate(workdir, days=days, orders_per_day=orders_per_day, end=date(2026, 10, 31))
    target = workdir / f"orders_export_{lines}.csv"
    with target.open("w", encoding="utf-8", newline="") as out:
        for i, part in enumerate(sorted((workdir / "landing" / "shopify_orders").glob("*.csv"))):
            with part.open(encoding="utf-8-sig", newline="") as src:
                header = src.readline()
                if i == 0:
                    out.write(header)
                for chunk in iter(lambda: src.read(1 << 20), ""):
                    out.write(chunk)
    return target


def _land_in_child(path: Path, home: Path) -> dict:
    code = (
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "from connectors.lake import Home, land_file\n"
        "t = time.perf_counter()\n"
        f"r = land_file(Home(Path({str(home)!r})), 'shopify_orders', Path({str(path)!r}))\n"
        "print(json.dumps({'rows': r.rows_loaded, 'quarantined': r.rows_quarantined, "
        "'seconds': time.perf_counter() - t, 'status': r.status}))\n"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(max(peak_kb, before) / 1024)
    return result


def run(lines: int = 1_000_000) -> dict:
    with tempfile.TemporaryDirectory(prefix="cwh-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        export = build_shopify_export(lines, work / "gen")
        generated = time.perf_counter() - started
        size_mb = export.stat().st_size / 1e6
        result = _land_in_child(export, work / "home")
    result.update({"file_mb": round(size_mb, 1), "generate_seconds": round(generated, 1),
                   "rows_per_second": round(result["rows"] / result["seconds"])})
    return result


if __name__ == "__main__":
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps(run(lines), indent=2))
