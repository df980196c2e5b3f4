"""The `dbt.*` cross-database macros the models call, for sqlfluff's jinja templater only (the lint
renders the models without dbt; see ../.sqlfluff). Each returns SQL of the shape dbt-duckdb's own
macro renders, so the linted SQL parses like the compiled model; dbt itself never imports this."""


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"({from_date_or_timestamp} + cast({interval} as bigint) * interval 1 {datepart})"


def datediff(first_date, second_date, datepart):
    return f"date_diff('{datepart}', {first_date}::timestamp, {second_date}::timestamp)"


def date_trunc(datepart, date):
    return f"date_trunc('{datepart}', {date})"


def last_day(date, datepart):
    return f"cast(date_trunc('{datepart}', {date}) + interval 1 {datepart} - interval 1 day as date)"


def type_string():
    return "varchar"


def listagg(measure, delimiter_text="','", order_by_clause=None, limit_num=None):
    return f"string_agg({measure}, {delimiter_text} {order_by_clause or ''})"
