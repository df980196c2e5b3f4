"""`python -m tests.faults.kill_driver POINT cwh-args…`: run `cwh` and SIGKILL it at a named point.

Points (each exists in every version of the landing code, so the same test runs before and after a
change): `mid_parquet` (after the first batch of rows is written), `mid_archive` (half-way through
copying the raw file into landing/), `before_commit` (when the ledger record is about to be written).
"""

import os
import shutil
import signal
import sys


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(point: str) -> None:
    import pyarrow.parquet as pq

    import connectors.lake as lake

    if point == "mid_parquet":
        original = pq.ParquetWriter.write_table

        def write_then_die(self, table, *args, **kwargs):
            original(self, table, *args, **kwargs)
            _die()

        pq.ParquetWriter.write_table = write_then_die
    elif point == "mid_archive":
        def copy_half_then_die(source, target, *args, **kwargs):
            data = open(source, "rb").read()
            with open(target, "wb") as handle:
                handle.write(data[: len(data) // 2])
            _die()

        shutil.copy2 = copy_half_then_die  # the archive copy before the change
        try:
            import connectors.landing_safety as safety
            safety.copy_file = copy_half_then_die  # after it
        except ImportError:
            pass
    elif point == "before_commit":
        for name in ("_write_json", "write_json_atomically"):
            original_writer = getattr(lake, name, None)
            if original_writer is None:
                continue

            def write_or_die(path, payload, _original=original_writer):
                if "ledger" in str(path):
                    _die()
                return _original(path, payload)

            setattr(lake, name, write_or_die)
    else:
        raise SystemExit(f"unknown point {point}")


if __name__ == "__main__":
    _arm(sys.argv[1])
    from orchestration.cli import app

    app(sys.argv[2:])
