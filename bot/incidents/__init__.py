"""Incidents: their channel, the timeline kept as they happen, and the FRACAS report."""
