{# Helpers of the KPI marts (channel_kpis_*, dim_date). The only engine-specific SQL of those models
   lives here, so a port to another engine overrides these macros. #}

{# Seconds elapsed between two instants (timestamp with time zone), measured in UTC so no session
   time zone or daylight-saving change can shift it. #}
{% macro elapsed_seconds(start_instant, end_instant) -%}
    {{ dbt.datediff(utc_clock(start_instant), utc_clock(end_instant), 'second') }}
{%- endmacro %}


{# The KPI columns of channel_kpis_daily and channel_kpis_monthly, from the `joined` sums of the
   period: both grains compute every ratio the same way from their own sums (never averaged). #}
{% macro kpi_measures() -%}
    cast(orders as bigint) as orders,
    cast(units as bigint) as units,
    cast(order_gross_sales as decimal(18, 2)) as order_gross_sales,
    cast(order_discounts as decimal(18, 2)) as order_discounts,
    cast(order_shipping_income as decimal(18, 2)) as order_shipping_income,
    -- money ÷ count rounded half away from zero on whole cents (exact, no floating point)
    cast(case when orders > 0
        then cast({{ div_round_half_away(to_cents('order_gross_sales - order_discounts + order_shipping_income'), 'orders') }} as decimal(18, 0)) * 0.01
    end as decimal(18, 2)) as aov,
    cast(sessions as bigint) as sessions,
    case when sessions > 0 then cast(orders as double) / sessions end as conversion_rate,
    cast(new_customers as bigint) as new_customers,
    cast(marketing_spend as decimal(18, 2)) as marketing_spend,
    cast(case when new_customers > 0
        then cast({{ div_round_half_away(to_cents('marketing_spend'), 'new_customers') }} as decimal(18, 0)) * 0.01
    end as decimal(18, 2)) as cac,
    cast(net_revenue as decimal(18, 2)) as net_revenue,
    case when marketing_spend <> 0 then cast(net_revenue as double) / cast(marketing_spend as double) end as mer,
    cast(cohort_units_returned as bigint) as cohort_units_returned,
    cast(cohort_returns as decimal(18, 2)) as cohort_returns,
    case when units > 0 then cast(cohort_units_returned as double) / units end as cohort_return_rate_units,
    case when order_gross_sales <> 0 then cast(cohort_returns as double) / cast(order_gross_sales as double) end
        as cohort_return_rate_value,
    cast(timed_refunds as bigint) as timed_refunds,
    cast(refund_processing_days as double) as refund_processing_days,
    cast(shipped_orders as bigint) as shipped_orders,
    cast(on_time_shipped_orders as bigint) as on_time_shipped_orders,
    case when shipped_orders > 0 and promised_handling_hours is not null
        then cast(on_time_shipped_orders as double) / shipped_orders end as on_time_ship_rate,
    cast(order_cycle_hours as double) as order_cycle_hours,
    cast(revenue_target as decimal(18, 2)) as revenue_target,
    cast(net_revenue - revenue_target as decimal(18, 2)) as revenue_vs_target,
    conversion_rate_target,
    case when sessions > 0 then cast(orders as double) / sessions end - conversion_rate_target as conversion_vs_target,
    cast(cm3_pct as double) as cm3_pct,
    cast(margin_floor_pct as double) as margin_floor_pct,
    cast(cm3_pct as double) - cast(margin_floor_pct as double) as margin_vs_floor
{%- endmacro %}
