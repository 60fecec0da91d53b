"""Packaging beyond pyproject.toml: the built-in runbooks, kept in the top-level runbooks/
where users look first, ship inside the package as bot/runbooks/builtin/ (a wheel copies them
there; an editable install maps the subpackage onto runbooks/)."""

from setuptools import find_namespace_packages, setup

BUILTIN = "bot.runbooks.builtin"

setup(
    packages=[p for p in find_namespace_packages(include=["bot*"]) if p != BUILTIN] + [BUILTIN],
    package_dir={BUILTIN: "runbooks"},
    package_data={BUILTIN: ["*.yaml"], "bot.incidents": ["templates/*.j2"]},
)
