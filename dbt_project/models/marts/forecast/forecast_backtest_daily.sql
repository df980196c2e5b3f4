-- The latest backtest origin's forecasts beside the actuals, per channel × day × method: what the
-- readback report draws as "forecast vs actual" (docs/metrics.md "Demand forecast").
select
    channel,
    date,
    method,
    origin_date,
    cast(horizon_days as integer) as horizon_days,
    actual_units,
    forecast_units
from {{ source('forecasts', 'forecast_backtest') }}
