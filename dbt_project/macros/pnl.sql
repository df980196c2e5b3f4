{# Helpers of the channel P&L models (docs/metrics.md). Kept to standard SQL so the marts can move
   to another engine by overriding these few macros. #}

{# The reporting day of an instant: its date on the business's clock (docs/metrics.md "Reporting day").
   Days a file states (ad platforms' Day, invoice dates, snapshot dates) are taken as they are. #}
{% macro local_date(instant) -%}
    cast({{ local_clock(instant) }} as date)
{%- endmacro %}


{# The event date of a column of order lines that holds instants and days alike: a day a file states
   (invoice and ship dates, settlement posted dates: sources in `stated_day_sources`), held as that
   day's UTC midnight, stays that day; an instant's date is its local day. #}
{% macro order_event_date(instant, source_column='source',
                          stated_day_sources=('amazon_settlement', 'wholesale')) -%}
    case when {{ source_column }} in ('{{ stated_day_sources | join("', '") }}')
        then cast({{ utc_clock(instant) }} as date) else {{ local_date(instant) }} end
{%- endmacro %}


{# An amount as whole cents (an exact integer). #}
{% macro to_cents(amount) -%}
    cast(round(cast({{ amount }} as decimal(38, 4)) * 100, 0) as bigint)
{%- endmacro %}


{# numerator ÷ denominator of two integers (denominator > 0), rounded to an integer half away from
   zero, exactly: decimal division is inexact (DuckDB types it double), but floor((2|n| + d) / 2d)
   of integers far below 2^53 never lands on the wrong side of an integer. #}
{% macro div_round_half_away(numerator, denominator) -%}
    (case when ({{ numerator }}) < 0 then -1 else 1 end
     * cast(floor((2 * abs({{ numerator }}) + ({{ denominator }})) / (2.0 * ({{ denominator }}))) as bigint))
{%- endmacro %}


{# numerator ÷ denominator of two non-negative integers rounded down, exactly (see above). #}
{% macro div_floor(numerator, denominator) -%}
    cast(floor(({{ numerator }}) / (1.0 * ({{ denominator }}))) as bigint)
{%- endmacro %}


{# A share or percentage: null when the denominator is 0 (or null). #}
{% macro safe_ratio(numerator, denominator) -%}
    case when ({{ denominator }}) <> 0 then cast({{ numerator }} as double) / cast({{ denominator }} as double) end
{%- endmacro %}


{# The P&L lines that are stored (the derived lines and ratios are computed from them). #}
{% macro pnl_base_lines() -%}
    {{ return(['gross_sales', 'discounts', 'returns', 'shipping_income', 'cogs', 'fulfillment_costs',
               'payment_fees', 'marketplace_fees', 'reimbursements', 'marketing_spend', 'operating_costs']) }}
{%- endmacro %}


{# The accrued part of the fee lines (docs/metrics.md "Accrued fees"): included in marketplace_fees and
   fulfillment_costs, carried apart so a reader sees how much of the period is estimated. #}
{% macro pnl_accrued_lines() -%}
    {{ return(['accrued_marketplace_fees', 'accrued_fulfillment_costs']) }}
{%- endmacro %}


{# Every P&L money column, in P&L order. #}
{% macro pnl_lines() -%}
    {{ return(['gross_sales', 'discounts', 'returns', 'net_sales', 'shipping_income', 'net_revenue',
               'cogs', 'cm1', 'fulfillment_costs', 'payment_fees', 'marketplace_fees', 'reimbursements', 'cm2',
               'marketing_spend', 'cm3', 'operating_costs', 'contribution_after_opex']) }}
{%- endmacro %}


{# The facts channel_pnl_daily sums, with their event dates: an incremental build re-sums the days
   whose facts changed (macros/day_sums.sql, changed_fact_days). #}
{% macro pnl_daily_facts() %}
    {{ return([
        {'relation': ref('fct_order_lines'), 'date_column': 'order_date'},
        {'relation': ref('fct_refunds'), 'date_column': 'refund_date'},
        {'relation': ref('fct_fees'), 'date_column': 'fee_date'},
        {'relation': ref('fct_marketing_spend'), 'date_column': 'spend_date'},
        {'relation': ref('int_operating_costs_daily'), 'date_column': 'cost_date'},
    ]) }}
{% endmacro %}


{# The facts whose changed days int_fee_accruals reads again: the order lines (their kept day sums). #}
{% macro fee_accrual_facts() %}
    {{ return([{'relation': ref('fct_order_lines'), 'date_column': 'order_date'}]) }}
{% endmacro %}


{# CTEs (continue a `with`) then the final select: from a relation `base` holding channel, the period column and the stored lines summed at that
   grain: every P&L column, the margins as a share of net revenue, and each channel's share of the
   company total at the same period (null when the denominator is 0); then the accrued lines and
   the period_status `base` carries (with_period_status). #}
{% macro pnl_from_lines(base, period_column) -%}
pnl_lines as (
    select
        channel,
        {{ period_column }},
        period_status,
        {%- for line in pnl_base_lines() + pnl_accrued_lines() %}
        cast({{ line }} as decimal(18, 2)) as {{ line }},
        {%- endfor %}
        cast(gross_sales - discounts - returns as decimal(18, 2)) as net_sales,
        cast(gross_sales - discounts - returns + shipping_income as decimal(18, 2)) as net_revenue
    from {{ base }}
),

pnl_margins as (
    select
        *,
        cast(net_revenue - cogs as decimal(18, 2)) as cm1,
        cast(net_revenue - cogs - fulfillment_costs - payment_fees - marketplace_fees + reimbursements
             as decimal(18, 2)) as cm2,
        cast(net_revenue - cogs - fulfillment_costs - payment_fees - marketplace_fees + reimbursements
             - marketing_spend as decimal(18, 2)) as cm3,
        cast(net_revenue - cogs - fulfillment_costs - payment_fees - marketplace_fees + reimbursements
             - marketing_spend - operating_costs as decimal(18, 2)) as contribution_after_opex
    from pnl_lines
),

pnl_totals as (
    select
        *,
        sum(net_revenue) over (partition by {{ period_column }}) as total_net_revenue,
        sum(contribution_after_opex) over (partition by {{ period_column }}) as total_contribution_after_opex,
        sum(operating_costs) over (partition by {{ period_column }}) as total_operating_costs
    from pnl_margins
)

select
    channel,
    {{ period_column }},
    {%- for line in pnl_lines() %}
    {{ line }},
    {%- endfor %}
    {{ safe_ratio('cm1', 'net_revenue') }} as cm1_pct,
    {{ safe_ratio('cm2', 'net_revenue') }} as cm2_pct,
    {{ safe_ratio('cm3', 'net_revenue') }} as cm3_pct,
    {{ safe_ratio('net_revenue', 'total_net_revenue') }} as revenue_share,
    {{ safe_ratio('contribution_after_opex', 'total_contribution_after_opex') }} as contribution_share,
    {{ safe_ratio('operating_costs', 'total_operating_costs') }} as operating_cost_share,
    {%- for line in pnl_accrued_lines() %}
    {{ line }},
    {%- endfor %}
    period_status
from pnl_totals
{%- endmacro %}


{# CTE body: the rows of `relation` (channel, period, the accrued lines summed at that grain) with their
   period_status (docs/metrics.md "Period status"): `open` while the period's last day is after the
   build's as-of day, `closed` once its channel's payouts cover that day (or the channel has none to
   wait for), the operating costs cover its month (when the brand lands them) and no accrual is left
   in it, `provisional` in between. #}
{% macro with_period_status(relation, period_end) -%}
    select
        b.*,
        case
            when {{ period_end }} > cv.as_of_date then 'open'
            when {{ period_end }} > cv.opex_covered_through then 'provisional'
            when cv.awaits_payouts and (cv.covered_through is null or {{ period_end }} > cv.covered_through)
                then 'provisional'
            {%- for line in pnl_accrued_lines() %}
            when b.{{ line }} <> 0 then 'provisional'
            {%- endfor %}
            else 'closed'
        end as period_status
    from {{ relation }} as b
    left join {{ ref('int_period_coverage') }} as cv on cv.channel = b.channel
{%- endmacro %}
