"""The sandbox behind `fracas demo`, and the tests' Render stand-in: Render's API on loopback,
seeded with the incidents.md stack in the FM-030 state."""
