"""Strategy `replace_since` (dim_customer, incremental by customer) run by dbt on the real model: after a
night's changes in the window, the incremental table equals a full rebuild — a customer whose only
order was since cancelled disappears, one whose last order's line is gone (its file unlanded: no line
of theirs in the window any more) falls back to an older one, a new customer appears, and a customer
untouched since before the window keeps its stored row."""

import duckdb

from connectors.home import Home, build_database
from orchestration.pipeline.dbt import run_dbt

ORDER_LINES = "build.intermediate.int_order_lines"
CUSTOMERS = "build.marts.dim_customer"
# dim_customer's window: max_date less the longest late-arriving days upstream (Amazon settlements, 21)
NIGHT = {"min_date": "2026-07-31", "max_date": "2026-07-31"}


def _sql(home: Home, *statements: str) -> list[tuple]:
    with duckdb.connect(str(build_database(home))) as con:  # closed before dbt opens the file again
        for statement in statements[:-1]:
            con.execute(statement)
        return con.execute(statements[-1]).fetchall()


def _line(line_id: str, customer: str, order: str, day: str, cancelled: bool = False, channel: str = "shopify_web",
          source: str = "shopify") -> str:
    return (f"('{line_id}', '{source}', '{channel}', '{order}', timestamptz '{day} 09:00:00+00', date '{day}', "
            f"{cancelled}, '{customer}')")


def _order_lines(home: Home, *lines: str) -> None:
    build_database(home).parent.mkdir(parents=True, exist_ok=True)
    _sql(home, "create schema if not exists intermediate",
         f"create or replace table {ORDER_LINES} (order_line_id varchar, source varchar, channel varchar, "
         "order_id varchar, ordered_at timestamptz, order_date date, is_cancelled boolean, customer_key varchar)",
         f"insert into {ORDER_LINES} values {', '.join(lines)}", "select 1")


def _customers(home: Home) -> list[tuple]:
    return _sql(home, f"select * from {CUSTOMERS} order by customer_key")


def _build(home: Home, *args: str) -> None:
    result = run_dbt(home, "run", "--select", "dim_customer", *args)
    assert result.success, result.exception


def test_a_night_replaces_the_customers_the_window_touches_and_equals_a_full_rebuild(home):
    before = [
        _line("a1", "A", "#1", "2026-07-01"),                     # A: an old order, then one in the window
        _line("b1", "B", "#3", "2026-07-02"),                     # B: last order in the window ...
        _line("b2", "B", "#4", "2026-07-15"),
        _line("c1", "C", "#5", "2026-07-12"),                     # C: a single order, in the window
        _line("d1", "D", "#6", "2026-07-01"),                     # D: nothing since before the window
    ]
    _order_lines(home, *before)
    _build(home)  # first build: the whole table
    assert [row[0] for row in _customers(home)] == ["A", "B", "C", "D"]
    stored_d = [row for row in _customers(home) if row[0] == "D"]

    after = [
        before[0], _line("a2", "A", "#2", "2026-07-20", channel="shopify_pos"),
        before[1],                                                 # ... whose line is gone (unlanded)
        _line("c1", "C", "#5", "2026-07-12", cancelled=True),             # C's only order cancelled
        before[4],
        _line("e1", "E", "INV-1", "2026-07-25", channel="wholesale", source="wholesale"),  # new
    ]
    _order_lines(home, *after)
    # D's stored row is marked: a night that wrongly re-computed D would replace the mark
    _sql(home, f"update {CUSTOMERS} set orders = 99 where customer_key = 'D'", "select 1")
    _build(home, "--vars", str(NIGHT))
    night = _customers(home)
    assert [row[0] for row in night] == ["A", "B", "D", "E"]
    assert [row for row in night if row[0] == "D"] == [stored_d[0][:-2] + (99, stored_d[0][-1])]

    _build(home, "--full-refresh")
    assert night[:2] + [stored_d[0]] + night[3:] == _customers(home)
