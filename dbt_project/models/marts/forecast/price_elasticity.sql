-- Price elasticity of demand per channel × SKU, channel × category and channel, estimated by the
-- forecast phase (orchestration/pipeline/forecast/elasticity.py: log-log OLS of weekly units on
-- realised unit price); null estimates where the prices did not vary enough (docs/metrics.md
-- "Price elasticity").
select
    channel,
    level,
    subject,
    category,
    currency,
    status,
    elasticity,
    std_error,
    ci80_low,
    ci80_high,
    ci95_low,
    ci95_high,
    cast(price_points as integer) as price_points,
    cast(observations as integer) as observations,
    cast(units as bigint) as units,
    min_unit_price,
    max_unit_price,
    first_week,
    last_week
from {{ source('forecasts', 'price_elasticity') }}
