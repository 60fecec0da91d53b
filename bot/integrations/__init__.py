"""Clients for the systems fracas inspects; they never import Slack, web or CLI code."""
