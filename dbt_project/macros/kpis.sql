{# Helpers of the KPI marts (channel_kpis_*, dim_date). The only engine-specific SQL of those models
   lives here, so a port to another engine overrides these macros. #}

{# Seconds elapsed between two instants (timestamp with time zone), measured in UTC so no session
   time zone or daylight-saving change can shift it. #}
{% macro elapsed_seconds(start_instant, end_instant) -%}
    {{ dbt.datediff("timezone('UTC', " ~ start_instant ~ ")", "timezone('UTC', " ~ end_instant ~ ")", 'second') }}
{%- endmacro %}
