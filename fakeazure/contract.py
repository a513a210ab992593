"""Request bodies bound the way the AML services bind them: to the SDK's own msrest models.

The services are ASP.NET: property names match case-insensitively, unknown properties are ignored, and a value of
the wrong JSON type fails model binding with 400 before the service looks at anything else. The fake binds every
body it accepts to the model class the SDK itself serializes for that endpoint (its `_attribute_map`: JSON key and
type per attribute; `_validation`'s required attributes; a polymorphic model's `_subtype_map`), so the fake's
idea of a valid body is the SDK's, not the app's.
"""

from __future__ import annotations

import importlib
import json
from datetime import datetime

# msrest type names -> the .NET type ASP.NET would report in its model-binding error.
_DOTNET = {"str": "System.String", "int": "System.Int32", "long": "System.Int64", "float": "System.Double",
           "bool": "System.Boolean", "iso-8601": "System.DateTime"}


class BindError(ValueError):
    """A body the service's model binding rejects; `answer()` is the 400 it sends."""

    def __init__(self, path: str, expected: str, message: str | None = None):
        self.path = path
        self.expected = expected
        super().__init__(message or f"The JSON value could not be converted to {expected}. Path: {path}")

    def answer(self) -> dict:
        """An ASP.NET Core ValidationProblemDetails body, as System.Text.Json model binding writes it."""
        return {
            "type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
            "title": "One or more validation errors occurred.",
            "status": 400,
            "errors": {self.path: [str(self)]},
        }


def bind(body: bytes | str | None, model: type) -> dict:
    """The body as `model` binds it: {python attribute: value}; raises BindError for what binding rejects."""
    text = body.decode() if isinstance(body, bytes) else body
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError:
        raise BindError("$", model.__name__) from None
    return _bind_object(value, model, "$")


def _bind_object(value: object, model: type, path: str) -> dict:
    if not isinstance(value, dict):
        raise BindError(path, model.__name__)
    model = _subtype(value, model, path)
    by_key = {spec["key"].lower(): (attribute, spec["type"]) for attribute, spec in model._attribute_map.items()}
    bound = {}
    for key, item in value.items():
        found = by_key.get(key.lower())
        if found is None:
            continue  # unknown properties are ignored, as ASP.NET does
        attribute, type_name = found
        bound[attribute] = _bind_value(item, type_name, f"{path}.{key}", model)
    for attribute, rules in getattr(model, "_validation", {}).items():
        if rules.get("required") and bound.get(attribute) is None:
            key = model._attribute_map[attribute]["key"]
            raise BindError(f"{path}.{key}", model.__name__, f"The {key} field is required. Path: {path}.{key}")
    return bound


def _subtype(value: dict, model: type, path: str) -> type:
    """A polymorphic model's subtype, named by its discriminator (key and value matched case-insensitively, as the
    services' JSON converters do; `jobInputType` is `Literal` in the SDK and `literal` in the REST examples)."""
    subtypes = getattr(model, "_subtype_map", None)
    if not subtypes:
        return model
    (attribute, names), = subtypes.items()
    key = model._attribute_map[attribute]["key"]
    given = next((item for name, item in value.items() if name.lower() == key.lower()), None)
    name = next((sub for kind, sub in names.items() if isinstance(given, str) and kind.lower() == given.lower()),
                None)
    if name is None:
        raise BindError(f"{path}.{key}", model.__name__, f"The {key} field is required and must be one of "
                        f"{', '.join(names)}. Path: {path}.{key}")
    return _model(model, name)


def _bind_value(value: object, type_name: str, path: str, owner: type) -> object:
    if value is None:
        return None
    if type_name.startswith("{") and type_name.endswith("}"):
        if not isinstance(value, dict):
            raise BindError(path, f"System.Collections.Generic.Dictionary`2[System.String,{_dotnet(type_name[1:-1])}]")
        return {key: _bind_value(item, type_name[1:-1], f"{path}.{key}", owner) for key, item in value.items()}
    if type_name.startswith("[") and type_name.endswith("]"):
        if not isinstance(value, list):
            raise BindError(path, f"System.Collections.Generic.List`1[{_dotnet(type_name[1:-1])}]")
        return [_bind_value(item, type_name[1:-1], f"{path}[{index}]", owner) for index, item in enumerate(value)]
    if type_name == "object":
        return value
    if type_name in _DOTNET:
        if not _has_type(value, type_name):
            raise BindError(path, _DOTNET[type_name])
        return value
    return _bind_object(value, _model(owner, type_name), path)


def _has_type(value: object, type_name: str) -> bool:
    if type_name == "str":
        return isinstance(value, str)
    if type_name in ("int", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_name == "bool":
        return isinstance(value, bool)
    try:  # iso-8601
        datetime.fromisoformat(str(value).replace("Z", "+00:00")[:26])
    except ValueError:
        return False
    return isinstance(value, str)


def _dotnet(type_name: str) -> str:
    return _DOTNET.get(type_name, type_name)


def _model(owner: type, name: str) -> type:
    """A nested model class: from `owner`'s module (a transcription, fakeazure.batch_models), else from the package
    that holds it (the SDK's generated `models` package)."""
    module = importlib.import_module(owner.__module__)
    if hasattr(module, name):
        return getattr(module, name)
    package = importlib.import_module(owner.__module__.rsplit(".", 1)[0])
    if not hasattr(package, name):
        raise AssertionError(f"model {name} (in {owner.__name__}) is not transcribed in {owner.__module__}")
    return getattr(package, name)
