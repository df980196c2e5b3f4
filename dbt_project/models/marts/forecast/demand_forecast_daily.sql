-- Demand forecast per channel × SKU × day for the next 28 days, with an 80% interval, from the
-- night's forecast phase (orchestration/pipeline/forecast/, statsmodels). docs/metrics.md "Demand forecast".
select
    channel,
    sku,
    date,
    origin_date,
    cast(horizon_days as integer) as horizon_days,
    forecast_units,
    forecast_lower_80,
    forecast_upper_80,
    method,
    is_fallback,
    sku_share,
    cast(history_days as integer) as history_days,
    cast(masked_days as integer) as stockout_days_masked,
    cast(promo_days as integer) as promo_days_masked
from {{ source('forecasts', 'demand_forecast') }}
