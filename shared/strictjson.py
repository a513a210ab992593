"""JSON that a person wrote (pipelines.json, RUN_PIPELINE_PARAMETERS, local.settings.json), read without surprises.

Python's `json` keeps the last of two equal keys in one object, silently: `{"enabled": true, "enabled": false}` is a
job that is off, and a second `STOP_COMPUTE_DRY_RUN` in local.settings.json wins over the first. Here every object
remembers the keys it had twice, so the caller refuses them, naming the key and where it is. And a value's type is
named as JSON names it (`null`, `object`, `array`, `string`, `number`, `boolean`), not as Python does.
"""

from __future__ import annotations

import json


class JsonObject(dict):
    """A decoded JSON object, with the keys it had more than once (the last value is kept, as json does)."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, object]]) -> JsonObject:
    found = JsonObject(pairs)
    seen: set[str] = set()
    found.duplicates = tuple(dict.fromkeys(key for key, _ in pairs if key in seen or seen.add(key)))
    return found


def loads(text: str) -> object:
    """`json.loads`, every object a JsonObject (json.JSONDecodeError for text that is not JSON)."""
    return json.loads(text, object_pairs_hook=_object)


def duplicate_keys(value: object, where: str) -> list[str]:
    """`<where>: the key "k" appears more than once ...` for every object in `value` with a repeated key (a path
    names the object: `where`, `where parameters`, `where[2]`)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            found.append(f"{where}: the key {json.dumps(key)} appears more than once (JSON keeps only the last, "
                         "silently): keep one")
        for key, item in value.items():
            found += duplicate_keys(item, f"{where} {key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += duplicate_keys(item, f"{where}[{index}]")
    return found


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type."""
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object",
            JsonObject: "object", type(None): "null"}.get(type(value), type(value).__name__)
