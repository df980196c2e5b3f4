"""Price elasticity of demand per channel × SKU and per channel × category, from the build's marts.

`price_elasticity(con)` reads the build database (marts.fct_order_lines, marts.dim_product,
marts.inventory_health_daily) and returns one row per channel × subject. Dagster-free: the
forecast phase calls it and writes the table into the build database as `forecasts.price_elasticity`;
the dbt mart `price_elasticity` (dbt_project/models/marts/forecast/) publishes it.

Columns of the returned table (the contract of `forecasts.price_elasticity`):
- channel        varchar  sales channel (dim_channel.channel)
- level          varchar  'sku' (one SKU) or 'category' (the SKUs of one product pooled)
- subject        varchar  the SKU (level sku) or the category (level category)
- category       varchar  the product the SKU belongs to: its name before " - " (Shopify's
                          "Product - Variant" line-item name), else the SKU itself
- currency       varchar  currency of the prices used (the channel × SKU's main currency)
- status         varchar  'estimated' or 'not_enough_variation' (estimates are null then)
- elasticity     double   % change in units for a 1% change in realised unit price
- std_error      double   its standard error
- ci80_low, ci80_high, ci95_low, ci95_high   double   its 80% and 95% confidence intervals
- price_points   integer  distinct price points observed (weekly prices 5% apart or more, held ≥ 2 weeks)
- observations   integer  weeks used in the regression
- units          bigint   units sold in those weeks
- min_unit_price, max_unit_price   double   lowest and highest weekly realised unit price
- first_week, last_week   date   Mondays of the first and last week used
Key: (channel, level, subject).
"""
