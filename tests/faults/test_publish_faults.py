"""A publish killed outright (SIGKILL: no exception handler runs, no temporary file is deleted) at
any point leaves the published file byte for byte as it was, readable with its old snapshot; the
next publish removes what the killed one left and publishes the new build whole."""

import hashlib
import signal
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import duckdb
import pytest

from connectors.home import published_database
from orchestration.pipeline.publish import publish, standby_database
from tests.orchestration.test_publish import make_build

REPO = Path(__file__).resolve().parents[2]

# run in a child process: arm the kill at POINT, then publish the build of HOME
KILLED_PUBLISH = textwrap.dedent("""
    import os, signal, sys
    from datetime import date
    from pathlib import Path

    from connectors.home import Home
    from orchestration.pipeline import publish as pub

    home, point = Home(Path(sys.argv[1])), sys.argv[2]

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "base_copy":  # half of the published file copied into the new one
        def copy_half(source, target):
            data = Path(source).read_bytes()
            Path(target).write_bytes(data[: len(data) // 2])
            die()
        pub.shutil.copyfile = copy_half
    elif point == "table_copy":  # the first changed table written, the second not
        real_create, created = pub._create_like_build, []
        def create_once(con, *args):
            if created:
                con.execute("CHECKPOINT tmp")  # what was written so far is on disk
                die()
            created.append(args)
            real_create(con, *args)
        pub._create_like_build = create_once
    elif point == "before_swap":  # the new file complete and fsync'ed, not yet renamed
        real_replace, published = pub.os.replace, pub.published_database(home)
        pub.os.replace = lambda source, target: die() if Path(target) == published else real_replace(source, target)
    pub.publish(home, run_id="killed", logical_date=date(2026, 8, 2), watermarks={}, checks=[])
""")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("point", ["base_copy", "table_copy", "before_swap"])
def test_a_publish_killed_anywhere_leaves_the_published_file_as_it_was(home, point):
    """table_copy and before_swap write into the standby file (publish.standby_database), base_copy
    copies the published file (no standby)."""
    make_build(home, rows=20_000)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    published = published_database(home)
    if point == "base_copy":
        standby_database(published).unlink()
    before = sha(published)
    make_build(home, scale=3, rows=20_000, channels=4)  # two tables change

    killed = subprocess.run([sys.executable, "-c", KILLED_PUBLISH, str(home.root), point], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert sha(published) == before
    assert [p.name for p in published.parent.glob("published.duckdb.*.tmp*")]  # what the kill left behind
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("SELECT list(run_id) FROM publish_log").fetchone()[0] == ["run-1"]
        assert con.execute("SELECT sum(x) FROM marts.fct_contribution").fetchone()[0] == sum(range(20_000))

    result = publish(home, run_id="run-2", logical_date=date(2026, 8, 2), watermarks={}, checks=[])
    assert result.published and not list(published.parent.glob("published.duckdb.*.tmp*"))
    # the file replaced is the next standby, as it was published: a kill between the standby's link and
    # the swap left it under both names, and the next publish did not write into it
    standby = standby_database(published)
    assert sha(standby) == before and not standby.samefile(published)
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("SELECT list(run_id ORDER BY published_at) FROM publish_log").fetchone()[0] == [
            "run-1", "run-2"]
        assert con.execute("SELECT sum(x) FROM marts.fct_contribution").fetchone()[0] == 3 * sum(range(20_000))
        assert con.execute("SELECT count(*) FROM marts.dim_channel").fetchone()[0] == 4
