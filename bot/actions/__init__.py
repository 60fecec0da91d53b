"""Actions: one module each, registered by name (see registry.py; all.py imports them all)."""
