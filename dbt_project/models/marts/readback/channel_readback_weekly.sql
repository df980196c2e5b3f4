-- The channel readback per sales channel × week (Monday start): as channel_readback_monthly, with
-- week-over-week and 52-weeks-ago trends, targets prorated to the week's days, and the flags of
-- channel_flags at grain week.
{{ channel_readback('week') }}
