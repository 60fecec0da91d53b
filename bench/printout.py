"""What every benchmark prints: the machine it ran on (each figure in bench/README.md carries
it) and plain aligned tables."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine() -> str:
    """`AMD EPYC ..., 2 cores, Python 3.11.7`."""
    return f"{cpu()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for n, row in enumerate((header, *rows)):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
