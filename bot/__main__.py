"""`python -m bot ...` is `fracas ...` (the supervisor starts its workers this way)."""

from bot.cli import main

raise SystemExit(main())
