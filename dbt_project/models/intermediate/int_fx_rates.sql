-- Daily rate from each currency into the reporting currency (var reporting_currency). The
-- reporting currency itself needs no row: `fx_rate()` gives it 1; any other missing rate stays null
-- and fails the "every conversion found a rate" tests.
select
    date as rate_date,
    currency,
    rate
from {{ ref('stg_finance__fx_rates') }}
where quote_currency = '{{ var("reporting_currency") }}'
