"""Request validation against the OpenAPI document's schemas (jsonschema, Draft 2020-12).

Bodies, query parameters and path parameters are checked against the operation's declared
schemas; the first problem becomes an :class:`InvalidInput` naming the field
(``rules[2].percent``, ``tax.rates[0].country``) or parameter. Unknown body fields and unknown
query parameters are refused rather than ignored: a misspelt filter must not silently widen a
list of invoices.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from chalicelib.api.errors import BodyTooLarge
from chalicelib.api.openapi import document
from chalicelib.errors import InvalidInput, NotFound

_BASE = "urn:rebill:openapi"
MAX_BODY_BYTES = 1_000_000
# The deepest body the document allows is a few levels (settings.tax.rates[].…); far deeper
# nesting is refused before it can exhaust the parser's or the validator's recursion.
MAX_BODY_DEPTH = 32


@cache
def _registry() -> Registry:
    resource = Resource.from_contents(document(), default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource(_BASE, resource)
    return registry


@cache
def _validator(schema_json: str) -> Draft202012Validator:
    schema = json.loads(schema_json)
    schema = _rebase(schema)
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())


def _rebase(node: Any) -> Any:
    """Point the document's local ``$ref``s (``#/components/…``) at the registered document."""
    if isinstance(node, dict):
        return {
            k: (_BASE + v if k == "$ref" and v.startswith("#") else _rebase(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def validator_for(schema: Mapping[str, Any]) -> Draft202012Validator:
    return _validator(json.dumps(schema, sort_keys=True))


def component(name: str) -> Mapping[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


# --- turning a jsonschema error into a message that names the field -------------------------


def field_path(parts: Iterable[Any], prefix: str = "") -> str:
    path = prefix
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(error: ValidationError, prefix: str) -> InvalidInput:
    field = field_path(error.absolute_path, prefix)
    name = field or "the body"
    kind = error.validator
    if kind == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        missing = next((p for p in error.validator_value if p not in present), "?")
        field = field_path([*error.absolute_path, missing], prefix)
        return InvalidInput(f"{field} is required", field=field)
    if kind == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in known)
        first = extra[0] if extra else "?"
        field = field_path([*error.absolute_path, first], prefix)
        return InvalidInput(f"{field} is not a known field", field=field)
    if kind == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return InvalidInput(f"{name} must be of type {wanted}", field=field or None)
    if kind == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        return InvalidInput(f"{name} must be one of {choices}", field=field or None)
    if kind in ("pattern", "format"):
        # error.schema is the named schema the value failed (Period, Id, …): say its rule.
        described = str(error.schema.get("description") or "").rstrip(".")
        hint = f" ({described})" if described else ""
        return InvalidInput(
            f"{name} is not in the expected form{hint}: {_short(error.instance)}",
            field=field or None,
        )
    return InvalidInput(f"{name}: {error.message[:200]}", field=field or None)


def check(instance: Any, schema: Mapping[str, Any], prefix: str = "") -> None:
    """Raise InvalidInput for the most relevant problem of ``instance`` against ``schema``."""
    error = best_match(validator_for(schema).iter_errors(instance))
    if error is not None:
        raise _describe(error, prefix)


# --- the three places a request carries data ------------------------------------------------


def parse_body(raw: bytes | None, operation: Mapping[str, Any]) -> Any:
    """The JSON body, validated against the operation's request schema (None when absent)."""
    spec = operation.get("requestBody")
    if raw and len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    if not raw or not raw.strip():
        if spec is not None and spec.get("required"):
            raise InvalidInput("a JSON body is required")
        return None
    if spec is None:
        raise InvalidInput("this operation takes no body")
    if _nesting(raw) > MAX_BODY_DEPTH:
        raise InvalidInput(f"the body is nested more than {MAX_BODY_DEPTH} levels deep")
    try:
        body = json.loads(raw)
        # Lone surrogates ("\ud800") parse but cannot be stored as UTF-8.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError):
        raise InvalidInput("the body is not valid JSON (UTF-8)") from None
    check(body, spec["content"]["application/json"]["schema"])
    return body


def _nesting(raw: bytes) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text, brackets inside strings not counted
    (at least the depth ``json.loads`` would recurse to; invalid JSON is its problem); 0 when
    it cannot exceed :data:`MAX_BODY_DEPTH`."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_BODY_DEPTH:
        return 0  # cannot be deeper (the usual case: no scan)
    deepest = depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _declared(operation: Mapping[str, Any], where: str) -> dict[str, Mapping[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == where}


def _schema_type(schema: Mapping[str, Any]) -> str | None:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _schema_type(document()["components"]["schemas"][name])
    kind = schema.get("type")
    return kind if isinstance(kind, str) else None


def _coerce(name: str, value: str, schema: Mapping[str, Any]) -> Any:
    kind = _schema_type(schema)
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            raise InvalidInput(f"{name} must be a whole number", field=name) from None
    if kind == "boolean":
        if value not in ("true", "false"):
            raise InvalidInput(f"{name} must be true or false", field=name)
        return value == "true"
    return value


def parse_query(params: Mapping[str, str] | None, operation: Mapping[str, Any]) -> dict[str, Any]:
    """Declared query parameters, converted and validated, with their defaults."""
    declared = _declared(operation, "query")
    given = dict(params or {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise InvalidInput(f"unknown query parameter {unknown[0]!r}", field=unknown[0])
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        schema = spec["schema"]
        if name not in given:
            if spec.get("required"):
                raise InvalidInput(f"{name} is required", field=name)
            if "default" in schema:
                values[name] = schema["default"]
            continue
        value = _coerce(name, given[name], schema)
        check(value, schema, prefix=name)
        values[name] = value
    return values


def check_path(values: Mapping[str, str], operation: Mapping[str, Any]) -> None:
    """A path parameter that cannot name anything (an id of the wrong form) is not found."""
    for name, spec in _declared(operation, "path").items():
        value = values.get(name)
        if value is None or not validator_for(spec["schema"]).is_valid(value):
            raise NotFound(f"no such {name.removesuffix('_id').replace('_', ' ')}")
