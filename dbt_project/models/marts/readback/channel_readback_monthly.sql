-- The operator's channel readback per sales channel × calendar month (docs/metrics.md "Channel
-- readback"): revenue, contribution and operating-cost shares, cm3 margin against the floor, the
-- month-over-month and year-over-year trend, the revenue gap to target decomposed into orders
-- (traffic + conversion) and value-per-order effects that sum exactly to the gap, the flags of
-- channel_flags (grain month) and the next action.
{{ channel_readback('month') }}
