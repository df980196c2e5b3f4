-- Monthly targets per channel.
{{ latest_rows('finance', 'channel_targets') }}
