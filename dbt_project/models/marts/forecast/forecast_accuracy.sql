-- Backtest of the demand forecast on rolling origins, per channel × horizon bucket × method, against
-- the seasonal naive baseline (docs/metrics.md "Demand forecast").
select
    channel,
    horizon_bucket,
    method,
    cast(origins as integer) as origins,
    cast(days_evaluated as integer) as days_evaluated,
    actual_units,
    abs_error,
    mase,
    wape,
    overall_mase,
    baseline_mase,
    beats_baseline,
    is_selected,
    note
from {{ source('forecasts', 'forecast_accuracy') }}
