"""`cwh sql`, `cwh docs` and `cwh export --marts` on a hand-made published file whose values are
written here: what each prints, refuses and says when there is nothing to read. (On a real demo,
against the generator's truth, and with a DuckDB 1.x client: tests/e2e/test_published_file.py.)"""

from __future__ import annotations

import os
import pty
import select
import socket
import subprocess
import sys
import threading
import urllib.request
from datetime import date
from decimal import Decimal

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from connectors.home import published_database
from orchestration.cli import app
from orchestration.pipeline.docs_site import server

runner = CliRunner()
ROWS = [(date(2026, 9, 1), "amazon_us", Decimal("1200.50")), (date(2026, 9, 1), "shopify_web", Decimal("-3.25")),
        (date(2026, 10, 1), "shopify_web", None)]


@pytest.fixture
def published(home):
    path = published_database(home)
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.channel_pnl_monthly (month date, channel varchar, net_revenue decimal(18,2))")
        con.executemany("insert into marts.channel_pnl_monthly values (?, ?, ?)", ROWS)
        con.execute("create table main.publish_log (run_id varchar, logical_date date, published_at timestamptz)")
        con.execute("insert into main.publish_log values "
                    "('run-7', date '2026-11-01', timestamptz '2026-11-01 03:00:00+00')")
    return home


def test_nothing_published_says_to_run_first(home):
    result = runner.invoke(app, ["sql", "-c", "select 1"])
    assert result.exit_code == 1 and "nothing published yet" in result.output and "cwh run" in result.output
    assert not published_database(home).exists()


def test_a_query_is_tab_separated_when_piped_and_csv_on_request(published):
    query = "select month, channel, net_revenue from channel_pnl_monthly order by month, channel"
    piped = runner.invoke(app, ["sql", "-c", query])
    assert piped.exit_code == 0, piped.output
    assert piped.output.splitlines() == ["month\tchannel\tnet_revenue", "2026-09-01\tamazon_us\t1200.50",
                                         "2026-09-01\tshopify_web\t-3.25", "2026-10-01\tshopify_web\t"]
    as_csv = runner.invoke(app, ["sql", "--csv", "-c", "select 'a,b' as label, 2 as n"])
    assert as_csv.output.splitlines() == ["label,n", '"a,b",2']


def test_statements_from_standard_input_print_the_last_result(published):
    script = "select 1 as one;\nselect count(*) as n from marts.channel_pnl_monthly;\n"
    result = runner.invoke(app, ["sql"], input=script)
    assert result.exit_code == 0 and result.output.splitlines() == ["n", "3"]


def test_the_table_format_right_aligns_numbers_and_counts_rows(published):
    result = runner.invoke(app, ["sql", "--format", "table", "-c",
                                 "select channel, net_revenue from channel_pnl_monthly order by channel, month"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    row = next(line for line in lines if "amazon_us" in line)
    assert row.rstrip().endswith("1200.50 │") and "NULL" in result.output and lines[-1] == "3 rows"
    markup = runner.invoke(app, ["sql", "--format", "table", "-c", "select '[red]x[/red]' as text"])
    assert "[red]x[/red]" in markup.output  # a value is printed as it is, never read as rich markup


@pytest.mark.parametrize("statement", ["delete from marts.channel_pnl_monthly", "create table t (a int)",
                                       "drop schema marts cascade"])
def test_nothing_can_change_the_published_file(published, statement):
    result = runner.invoke(app, ["sql", "-c", statement])
    assert result.exit_code == 1, result.output
    assert "read-only" in result.output and "cwh run" in result.output
    with duckdb.connect(str(published_database(published)), read_only=True) as con:
        assert con.execute("select count(*) from marts.channel_pnl_monthly").fetchone()[0] == 3


def test_bad_sql_is_duckdbs_message_and_exit_1(published):
    result = runner.invoke(app, ["sql", "-c", "select * from no_such_mart"])
    assert result.exit_code == 1 and "no_such_mart" in result.output and "Traceback" not in result.output


def test_an_unknown_format_is_refused_before_opening_anything(published):
    result = runner.invoke(app, ["sql", "--format", "xml", "-c", "select 1"])
    assert result.exit_code == 2 and "'xml' is not a format" in " ".join(result.output.split())


def test_the_interactive_prompt_on_a_terminal(published):
    """A real terminal (a pty): statements over several lines, a dot command, .quit."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "orchestration.cli", "sql"], stdin=follower, stdout=follower,
                               stderr=follower, env={**os.environ, "CWH_HOME": str(published.root), "COLUMNS": "120"})
    os.close(follower)
    os.write(leader, b"select 40 + 2\n  as answer;\n.tables\n.quit\n")
    output = b""
    try:
        while process.poll() is None or select.select([leader], [], [], 0)[0]:
            if select.select([leader], [], [], 30)[0]:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            else:
                break
        assert process.wait(timeout=30) == 0, output.decode(errors="replace")
    finally:
        process.kill()
        os.close(leader)
    text = output.decode(errors="replace")
    assert "read-only" in text and "answer" in text and "42" in text
    assert "channel_pnl_monthly" in text and "publish_log" in text  # .tables


def test_cwh_docs_without_a_build_says_what_to_run(home):
    result = runner.invoke(app, ["docs"])
    assert result.exit_code == 1 and "nothing built yet" in result.output and "cwh run" in result.output


def test_the_docs_server_serves_the_page(tmp_path):
    (tmp_path / "index.html").write_text("<title>dbt Docs</title>")
    httpd = server(tmp_path, 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        port = httpd.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.read() == b"<title>dbt Docs</title>"
        with pytest.raises(OSError):
            server(tmp_path, port)  # taken: the command says to choose another --port
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_cwh_docs_serve_serves_the_generated_page_on_the_port_given(home, monkeypatch):
    """The command itself: the page generated (dbt's part stood in for), then served on --port until
    stopped; a taken port is one line and exit 1."""
    from orchestration.pipeline import docs_site

    page = docs_site.docs_site(home) / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text("<title>dbt Docs</title>")
    monkeypatch.setattr(docs_site, "generate", lambda _home: page)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fetched, real_server = [], docs_site.server

    def serve_then_fetch_and_stop(folder, port_given):
        httpd = real_server(folder, port_given)

        def client():
            with urllib.request.urlopen(f"http://127.0.0.1:{port_given}/", timeout=10) as response:
                fetched.append(response.read())
            httpd.shutdown()  # what Ctrl-C does to the command
        threading.Thread(target=client, daemon=True).start()
        return httpd

    monkeypatch.setattr(docs_site, "server", serve_then_fetch_and_stop)
    result = runner.invoke(app, ["docs", "--serve", "--port", str(port)])
    assert result.exit_code == 0, result.output
    assert fetched == [b"<title>dbt Docs</title>"]
    assert f"serving http://127.0.0.1:{port}/" in result.output and str(page) in " ".join(result.output.split())

    with socket.socket() as taken:  # another program listens on the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        monkeypatch.setattr(docs_site, "server", real_server)
        refused = runner.invoke(app, ["docs", "--serve", "--port", str(busy)])
    assert refused.exit_code == 1 and f"cannot serve on port {busy}" in refused.output
    assert "choose another with --port" in " ".join(refused.output.split())


def test_export_marts_writes_each_mart_with_the_run_in_its_footer(published, tmp_path):
    result = runner.invoke(app, ["export", "--marts", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "marts").iterdir()) == ["channel_pnl_monthly.parquet"]
    table = pq.read_table(tmp_path / "marts" / "channel_pnl_monthly.parquet")
    assert table.to_pylist() == [dict(zip(("month", "channel", "net_revenue"), row, strict=True)) for row in ROWS]
    metadata = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert metadata["run_id"] == "run-7" and metadata["logical_date"] == "2026-11-01"
    assert metadata["source"] == "marts.channel_pnl_monthly"


@pytest.mark.parametrize("args", [["--month", "2026-09"], ["--format", "csv"]])
def test_export_marts_refuses_a_month_or_another_format(published, args):
    result = runner.invoke(app, ["export", "--marts", *args])
    assert result.exit_code == 2 and "--marts writes every month of every mart as Parquet" in result.output


def test_export_marts_with_nothing_published(home):
    result = runner.invoke(app, ["export", "--marts"])
    assert result.exit_code == 1 and "nothing published yet" in result.output
