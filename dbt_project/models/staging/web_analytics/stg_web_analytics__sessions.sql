-- Sessions per channel and day.
{{ latest_rows('web_analytics', 'sessions') }}
