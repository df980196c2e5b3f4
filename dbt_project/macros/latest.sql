{# Per `key`, the `value` of the row that sorts last by `order_columns` (ascending, left to right, never
   null), rows without a key or a value left out: columns `key` and `value`. In two steps, each key's
   latest first column (an aggregate of one column) and then `latest_by` among the key's rows of that
   value only, instead of one `latest_by` comparing a row of every order column for every row
   (dim_product's names at the 10M bench: 0.31 -> 0.07 s). #}
{% macro latest_per_key(relation, key, value, order_columns) -%}
    {%- set qualified = [] -%}
    {%- for column in order_columns -%}{%- do qualified.append('r.' ~ column) -%}{%- endfor -%}
    select r.{{ key }}, {{ latest_by('r.' ~ value, qualified) }} as {{ value }}
    from {{ relation }} as r
    inner join (
        select {{ key }}, max({{ order_columns[0] }}) as latest
        from {{ relation }}
        where {{ key }} is not null and {{ value }} is not null
        group by {{ key }}
    ) as m on m.{{ key }} = r.{{ key }} and m.latest = r.{{ order_columns[0] }}
    where r.{{ value }} is not null
    group by r.{{ key }}
{%- endmacro %}
