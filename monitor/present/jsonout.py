"""One JSON emitter for every typed result: dataclasses become objects (with the computed
fields a class names in `JSON_EXTRA`), datetimes ISO 8601, enums their value, paths text."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any


def to_json(value: Any) -> Any:
    """`value` as plain JSON data."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {
            f.name: to_json(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.repr and not f.name.startswith("_")
        }
        for name in getattr(value, "JSON_EXTRA", ()):
            data[name] = to_json(getattr(value, name))
        return data
    if isinstance(value, Mapping):
        return {str(to_json(k)): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json(v) for v in value]
    raise TypeError(f"cannot turn {type(value).__name__} into JSON")


def dumps(value: Any) -> str:
    """Indented JSON text of `value` (a result, or a list of them)."""
    return json.dumps(to_json(value), indent=2)
