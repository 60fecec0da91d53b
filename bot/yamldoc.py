"""YAML files whose validation errors point at a file, a line and a key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bot.errors import ConfigError, Problem

Key = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class YamlDoc:
    """Parsed YAML plus the line of every key, so errors can say where to look."""

    path: Path
    data: Any
    lines: dict[Key, int]

    def where(self, key: Key) -> str:
        """`file:line: dotted.key`, using the nearest enclosing key that has a line."""
        line = next(
            (self.lines[key[:d]] for d in range(len(key), -1, -1) if key[:d] in self.lines), None
        )
        dotted = ".".join(str(k) for k in key)
        return f"{self.path}" + (f":{line}" if line else "") + (f": {dotted}" if dotted else "")

    def validate(self, model: type[M], context: dict[str, Any] | None = None) -> M:
        """Validate into `model`, raising every error at once with its location."""
        try:
            return model.model_validate(self.data, context=context)
        except ValidationError as exc:
            raise ConfigError([self.problem(err) for err in exc.errors()]) from None

    def problem(self, err: ErrorDetails) -> Problem:
        loc = tuple(k for k in err["loc"] if not _is_union_tag(k))
        return Problem(self.where(loc), _message(err))


def load_yaml(path: Path) -> YamlDoc:
    """Read and parse a YAML file; syntax errors become a located problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(str(path), f"cannot read: {exc.strerror}")]) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(f"{path}{line}", f"invalid YAML: {reason}")]) from None
    finally:
        loader.dispose()
    lines: dict[Key, int] = {}
    if node is not None:
        _index(node, (), lines)
    return YamlDoc(path, data, lines)


def _index(node: yaml.Node, key: Key, lines: dict[Key, int]) -> None:
    lines[key] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for knode, vnode in node.value:
            child = (*key, str(knode.value))
            _index(vnode, child, lines)
            lines[child] = knode.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*key, i), lines)


def _is_union_tag(part: str | int) -> bool:
    """Pydantic puts type names like `str` or `function-after[...]` into union error paths."""
    return isinstance(part, str) and bool(re.fullmatch(r"[a-z_-]+\[.*\]|str|int|float|bool", part))


def _message(err: ErrorDetails) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (check the spelling)"
    if err["type"] == "missing":
        return "required key is missing"
    error = err.get("ctx", {}).get("error")
    return str(error) if error is not None else err["msg"]
