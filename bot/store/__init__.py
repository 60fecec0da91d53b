"""The store: every accepted thing (a command, later an alert or an incident) is a row here
before its 2xx. SQLite on one machine, PostgreSQL for several (DESIGN.md, State and durable work).
"""
