"""Test stand-ins for external services (Slack Web API, Socket Mode)."""
