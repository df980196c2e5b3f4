{# Helpers of the KPI marts (channel_kpis_*, dim_date) and the KPI measures every mart shares. The
   only engine-specific SQL of those models lives here, so a port to another engine overrides these
   macros. #}

{# Seconds elapsed between two instants (timestamp with time zone), measured in UTC so no session
   time zone or daylight-saving change can shift it. #}
{% macro elapsed_seconds(start_instant, end_instant) -%}
    {{ dbt.datediff(utc_clock(start_instant), utc_clock(end_instant), 'second') }}
{%- endmacro %}


{# The KPI measures, written once: every mart that shows one of them calls these (docs/metrics.md
   "KPIs"). Arguments are column names or SQL expressions of the caller's sums. #}

{# Money per unit of a count (AOV, CAC, an average value): amount ÷ count rounded half away from zero
   on whole cents, exactly (no floating point); null when the count is 0. #}
{% macro money_per(amount, count) -%}
    cast(case when {{ count }} > 0
        then cast({{ div_round_half_away(to_cents(amount), count) }} as decimal(18, 0)) * 0.01
    end as decimal(18, 2))
{%- endmacro %}

{# A rate of two counts (conversion, return rate, sell-through, stockout rate): null when the
   denominator is 0. #}
{% macro count_rate(numerator, denominator) -%}
    case when {{ denominator }} > 0 then cast({{ numerator }} as double) / {{ denominator }} end
{%- endmacro %}

{# Relative change of a signed amount against a previous one: null when the previous is 0. #}
{% macro change_pct(current, previous) -%}
    case when {{ previous }} <> 0
         then cast({{ current }} - {{ previous }} as double) / abs(cast({{ previous }} as double)) end
{%- endmacro %}

{# Average order value: the value of the orders (gross − discounts + shipping) per order. #}
{% macro kpi_aov(orders='orders', gross_sales='order_gross_sales', discounts='order_discounts',
                 shipping_income='order_shipping_income') -%}
    {{ money_per(gross_sales ~ ' - ' ~ discounts ~ ' + ' ~ shipping_income, orders) }}
{%- endmacro %}

{# Conversion rate: orders per session. #}
{% macro kpi_conversion_rate(orders='orders', sessions='sessions') -%}
    {{ count_rate(orders, sessions) }}
{%- endmacro %}

{# Customer acquisition cost: marketing spend per new customer. #}
{% macro kpi_cac(marketing_spend='marketing_spend', new_customers='new_customers') -%}
    {{ money_per(marketing_spend, new_customers) }}
{%- endmacro %}

{# Marketing efficiency ratio (blended): net revenue ÷ all marketing spend. #}
{% macro kpi_mer(net_revenue='net_revenue', marketing_spend='marketing_spend') -%}
    {{ safe_ratio(net_revenue, marketing_spend) }}
{%- endmacro %}

{# Return on ad spend as one platform reports it: its attributed conversion value ÷ its spend. #}
{% macro kpi_roas(conversion_value, spend) -%}
    {{ safe_ratio(conversion_value, spend) }}
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
    {{ kpi_aov() }} as aov,
    cast(sessions as bigint) as sessions,
    {{ kpi_conversion_rate() }} as conversion_rate,
    cast(new_customers as bigint) as new_customers,
    cast(marketing_spend as decimal(18, 2)) as marketing_spend,
    {{ kpi_cac() }} as cac,
    cast(net_revenue as decimal(18, 2)) as net_revenue,
    {{ kpi_mer() }} as mer,
    cast(cohort_units_returned as bigint) as cohort_units_returned,
    cast(cohort_returns as decimal(18, 2)) as cohort_returns,
    {{ count_rate('cohort_units_returned', 'units') }} as cohort_return_rate_units,
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
    {{ kpi_conversion_rate() }} - conversion_rate_target as conversion_vs_target,
    cast(cm3_pct as double) as cm3_pct,
    cast(margin_floor_pct as double) as margin_floor_pct,
    cast(cm3_pct as double) - cast(margin_floor_pct as double) as margin_vs_floor
{%- endmacro %}
