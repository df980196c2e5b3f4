"""What the readback, its inventory section and the digest share: how values are written (money,
percentages, plain cells), how rows are read from the published snapshot, and the Jinja templates
(orchestration/outputs/templates/) they are rendered from.

HTML templates are autoescaped: every value is escaped unless a template marks it safe (the plotly
figures, which plotly writes); None prints as an empty cell. Markdown templates are not escaped.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from functools import cache

import jinja2


def money(value) -> str:
    return "" if value is None else f"{float(value):,.2f}"


def pct(value) -> str:
    return "" if value is None else f"{float(value) * 100:.1f}%"


# a number of 4+ integer digits that is not part of a date (2026-10-14) or a code (FH-2000)
_BIG_NUMBER = re.compile(r"(?<![\d.\-])\d{4,}(?=(?:\.\d+)?(?![\d\-]))")
# a count the flags' evidence writes as money ("orders spike on 2026-10-14: 84.00 vs a usual 22.00")
_COUNT_EVIDENCE = re.compile(r"\b((?:orders|units|sessions) \w+ on \S+: )(\d+)\.00( vs a usual \d+)(?:\.00\b)?")


def evidence(text) -> str:
    """A flag's evidence as a person reads it: thousands separated (10,656.33), counts without cents."""
    if text is None:
        return ""
    text = _COUNT_EVIDENCE.sub(r"\1\2\3", str(text))
    return _BIG_NUMBER.sub(lambda m: f"{int(m.group(0)):,}", text)


def plain(value) -> str:
    """A table cell: small floats to 4 significant digits, money to the cent, instants to the minute."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def has_table(con, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [schema, table]).fetchone()[0])


def columns(con, schema: str, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, table]).fetchall()]


def rows(con, sql: str, params=None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@cache
def _environment(markdown: bool = False) -> jinja2.Environment:
    """HTML: autoescaped, None printed blank. Markdown: block tags take their line with them
    (trim_blocks, lstrip_blocks), so the template reads like the text it writes."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("orchestration.outputs", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False, default=False),
        finalize=_blank_none, keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
        trim_blocks=markdown, lstrip_blocks=markdown)
    environment.globals.update(money=money, pct=pct, plain=plain, evidence=evidence)
    return environment


def _blank_none(value):
    return "" if value is None else value


def render(template: str, **context) -> str:
    """Render templates/<template> (`*.html` autoescaped, `*.md` Markdown) with `context`."""
    return _environment(template.endswith(".md")).get_template(template).render(**context)
