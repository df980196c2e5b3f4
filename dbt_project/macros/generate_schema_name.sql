{# Schemas are named as configured (`staging`, `intermediate`, `marts`, `config`), not prefixed
   with the target schema: analysts query `marts.channel_pnl_monthly`. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}
