"""What a benchmark ran on, for the line every figure in bench/README.md carries."""

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
