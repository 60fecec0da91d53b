"""The wheel carries what `pip install` users need: the built-in runbooks, found where the
installed package looks for them, the report template and the store's migrations."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT

RUNBOOKS = sorted(p.name for p in (ROOT / "runbooks").glob("*.yaml"))
FIND = """
import json
from bot.actions.all import ACTIONS
from bot.runbooks.library import BUILTIN, load_library
library = load_library(ACTIONS)
print(json.dumps({"dir": str(BUILTIN), "runbooks": sorted(library.runbooks),
                  "problems": [p.where for p in library.problems]}))
"""


def build_wheel(tmp_path: Path) -> Path:
    """`pip wheel` on a copy of what the wheel is built from (the checkout stays untouched)."""
    src = tmp_path / "src"
    junk = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("bot", "runbooks"):
        shutil.copytree(ROOT / name, src / name, ignore=junk)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, src / name)
    dist = tmp_path / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(dist)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    [wheel] = dist.glob("fracas-*.whl")
    return wheel


def test_the_wheel_ships_the_six_runbooks_and_the_library_finds_them(tmp_path: Path) -> None:
    assert len(RUNBOOKS) == 6
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        shipped = sorted(n.rsplit("/", 1)[1] for n in names if n.endswith(".yaml"))
        assert shipped == RUNBOOKS
        assert all(n.startswith("bot/runbooks/builtin/") for n in names if n.endswith(".yaml"))
        assert not any(n.startswith("runbooks/") for n in names)  # no top-level package
        assert "bot/incidents/templates/fracas.md.j2" in names  # the FRACAS report
        assert "bot/store/migrations/versions/0002_incidents.py" in names
        site = tmp_path / "site"
        archive.extractall(site)
    away = tmp_path / "elsewhere"  # no runbooks/ here: only the installed copy can be found
    away.mkdir()
    found = subprocess.run(
        [sys.executable, "-c", FIND],
        capture_output=True,
        text=True,
        cwd=away,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    body = json.loads(found.stdout)
    assert body["dir"] == str(site / "bot" / "runbooks" / "builtin")
    assert body["runbooks"] == [name.removesuffix(".yaml") for name in RUNBOOKS]
    assert body["problems"] == []
