"""Renderers of the one result model: Slack Block Kit, rich terminal, JSON (in results)."""
