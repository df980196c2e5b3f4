"""Dagster code location and `cwh` CLI of the channel contribution warehouse."""
