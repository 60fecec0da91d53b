"""What every benchmark prints: the machine it ran on (each figure in bench/README.md carries
it) and plain aligned tables."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
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


def machine_facts() -> dict[str, str]:
    """What `nproc`, `lscpu`, `python --version` and `date -u` say, for a JSON result."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    cpus = [ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if "Model name" in ln]
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    nproc, python = str(len(os.sched_getaffinity(0))), sys.version.split()[0]
    return dict(nproc=nproc, cpu=(cpus or ["?"])[0], python=python, date=date)


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for n, row in enumerate((header, *rows)):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
