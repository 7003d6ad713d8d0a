"""The ops view: one page showing the event flow live (rates, lag, backlog, dead letters, stuck claims, latency)."""
