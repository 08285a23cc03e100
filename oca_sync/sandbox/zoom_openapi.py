"""Checking requests and responses against Zoom's OpenAPI document.

Used by the contract test (``tests/integration/test_zoom_openapi.py``) and, when
given the document, by the emulator itself (``ZoomSandbox(openapi=...)``), which
then refuses requests that do not fit and fails loudly when one of its own
answers does not fit. Needs the ``jsonschema`` package (the ``test`` extra).

The document is Zoom's Meeting API v2 (OpenAPI 3.0). It has no ``$ref``s
today, but they are resolved anyway. Two of its formats need Zoom's reading:
``date-time`` in a *request* also accepts Zoom's local form
``yyyy-MM-ddTHH:mm:ss`` (the ``start_time`` description says so), and ``int64``
is a range check.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

__all__ = ["ENV_VAR", "OpenApi", "Operation", "load_openapi"]

#: Environment variable naming the document when no path is given.
ENV_VAR = "OCA_ZOOM_OPENAPI"

_INT64 = (-(2**63), 2**63 - 1)
_ZOOM_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE)


#: Zoom's error body (developers.zoom.us/docs/api/errors); the document declares none.
_ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec: Mapping[str, Any]

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def operation_id(self) -> str:
        return str(self.spec.get("operationId", ""))

    def parameters(self, where: str) -> dict[str, Mapping[str, Any]]:
        return {p["name"]: p for p in self.spec.get("parameters", []) if p.get("in", "").lower() == where}


def load_openapi(path: str | os.PathLike[str] | None = None) -> OpenApi:
    """Load the document from ``path``, or from ``$OCA_ZOOM_OPENAPI``."""
    where = path or os.environ.get(ENV_VAR)
    if not where:
        raise FileNotFoundError(f"no Zoom OpenAPI document given (pass a path or set {ENV_VAR})")
    p = Path(where)
    if not p.is_file():
        raise FileNotFoundError(f"Zoom OpenAPI document not found: {p}")
    return OpenApi(json.loads(p.read_text(encoding="utf-8")))


class OpenApi:
    """The document, with operations found by method and concrete path."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        try:
            import jsonschema  # noqa: F401 - fail early with a clear message
        except ImportError as e:  # pragma: no cover - jsonschema is in the test extra
            raise RuntimeError("checking against the OpenAPI document needs jsonschema: pip install 'oca-sync[test]'") from e
        self.doc = doc
        self._templates: list[tuple[list[str], str]] = [
            (t.strip("/").split("/"), t) for t in doc.get("paths", {})
        ]

    # -- finding operations --------------------------------------------------------

    def operation(self, method: str, template: str) -> Operation:
        try:
            spec = self.doc["paths"][template][method.lower()]
        except KeyError:
            raise KeyError(f"the OpenAPI document has no {method.upper()} {template}") from None
        return Operation(method.upper(), template, self._resolve(spec))

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """The operation of a concrete path (below the server URL, e.g. ``/meetings/123``).

        Path segments must be given still percent-encoded (one segment may hold
        an encoded ``/``); literal segments win over parameters.
        """
        segs = path.strip("/").split("/")
        best: tuple[int, str, dict[str, str]] | None = None
        for parts, template in self._templates:
            if len(parts) != len(segs) or method.lower() not in self.doc["paths"][template]:
                continue
            params: dict[str, str] = {}
            literal = 0
            for want, got in zip(parts, segs, strict=True):
                if want.startswith("{") and want.endswith("}"):
                    params[want[1:-1]] = got
                elif want == got:
                    literal += 1
                else:
                    break
            else:
                if best is None or literal > best[0]:
                    best = (literal, template, params)
        if best is None:
            raise KeyError(f"no operation of the OpenAPI document matches {method.upper()} {path}")
        return self.operation(method, best[1]), best[2]

    # -- checking ------------------------------------------------------------------

    def request_errors(self, op: Operation, *, path_params: Mapping[str, str], query: Mapping[str, list[str]],
                       body: Any = None, strict: bool = True) -> list[str]:
        """What is wrong with a request: undeclared or ill-typed parameters, a body off the schema.

        ``strict`` also refuses body properties the schema does not declare.
        """
        errors: list[str] = []
        declared_path = op.parameters("path")
        for name, raw in path_params.items():
            spec = declared_path.get(name)
            if spec is None:
                errors.append(f"path parameter {name} is not declared")
                continue
            errors += self._param_errors(f"path parameter {name}", raw, spec)
        declared = op.parameters("query")
        for name, values in query.items():
            spec = declared.get(name)
            if spec is None:
                errors.append(f"query parameter {name!r} is not declared for {op.name}")
                continue
            for raw in values:
                errors += self._param_errors(f"query parameter {name}", raw, spec)
        for name, spec in declared.items():
            if spec.get("required") and name not in query:
                errors.append(f"required query parameter {name!r} is missing")
        rb = op.spec.get("requestBody")
        if body is not None:
            if not rb:
                errors.append(f"{op.name} takes no body")
            else:
                schema = rb["content"]["application/json"]["schema"]
                errors += self.schema_errors(body, schema, request=True, closed=strict)
        elif rb and rb.get("required"):
            errors.append(f"{op.name} requires a body")
        return errors

    def response_errors(self, op: Operation, status: int, body: Any, *, closed: bool = False) -> list[str]:
        """What is wrong with a response: an undeclared status, a body off the schema."""
        responses = op.spec.get("responses", {})
        spec = responses.get(str(status))
        if spec is None:
            return [f"{op.name} does not declare HTTP {status} (declared: {', '.join(responses)})"]
        content = spec.get("content") or {}
        if not content and status >= 400:
            return self._error_body_errors(op, status, str(spec.get("description", "")), body)
        if not content:
            return [] if body in (None, b"", "") else [f"HTTP {status} of {op.name} declares no body"]
        schema = (content.get("application/json") or {}).get("schema")
        if schema is None:
            return []
        return self.schema_errors(body, schema, request=False, closed=closed)

    def schema_errors(self, value: Any, schema: Mapping[str, Any], *, request: bool, closed: bool = False) -> list[str]:
        import jsonschema

        checker = jsonschema.FormatChecker(formats=())
        checker.checks("date-time")(lambda v: not isinstance(v, str) or _date_time_ok(v, request))
        checker.checks("date")(lambda v: not isinstance(v, str) or _date_ok(v))
        checker.checks("email")(lambda v: not isinstance(v, str) or "@" in v)
        checker.checks("int64")(lambda v: not isinstance(v, int) or _INT64[0] <= v <= _INT64[1])
        prepared = _prepare(schema, closed)
        validator = jsonschema.Draft7Validator(prepared, format_checker=checker)
        return [f"{'/'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}"
                for e in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))]

    # -- internals -----------------------------------------------------------------

    def _error_body_errors(self, op: Operation, status: int, description: str, body: Any) -> list[str]:
        """Zoom's error answers: the document gives no schema, only "Error Code: N" lines.

        The body must be ``{"code": int, "message": str}`` (developers.zoom.us/docs/api/errors),
        and its code one of those listed for the status, when the document lists any.
        """
        errors = self.schema_errors(body, _ERROR_BODY, request=False)
        if errors:
            return [f"HTTP {status} of {op.name}: {e}" for e in errors]
        listed = {int(c) for c in re.findall(r"Error Code:\*\*\s*`(\d+)`", description)}
        if listed and body["code"] not in listed:
            return [f"HTTP {status} of {op.name}: code {body['code']} is not among the documented {sorted(listed)}"]
        return []

    def _param_errors(self, what: str, raw: str, spec: Mapping[str, Any]) -> list[str]:
        schema = spec.get("schema", {})
        t = schema.get("type")
        value: Any = raw
        if t == "integer":
            if not re.fullmatch(r"-?(0|[1-9][0-9]*)", raw):
                return [f"{what}: {raw!r} is not an integer"]
            value = int(raw)
        elif t == "boolean":
            if raw not in ("true", "false"):
                return [f"{what}: {raw!r} is not true/false"]
            value = raw == "true"
        return [f"{what}: {m}" for m in self.schema_errors(value, schema, request=True)]

    def _resolve(self, node: Any, depth: int = 0) -> Any:
        if depth > 50:
            raise ValueError("$ref nesting too deep in the OpenAPI document")
        if isinstance(node, dict):
            if "$ref" in node and isinstance(node["$ref"], str) and node["$ref"].startswith("#/"):
                target: Any = self.doc
                for part in node["$ref"][2:].split("/"):
                    target = target[part.replace("~1", "/").replace("~0", "~")]
                return self._resolve(target, depth + 1)
            return {k: self._resolve(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self._resolve(v, depth + 1) for v in node]
        return node


def _date_time_ok(value: str, request: bool) -> bool:
    if _RFC3339.fullmatch(value):
        return True
    # Zoom's local start_time (meetingCreate: "yyyy-MM-ddTHH:mm:ss" with a timezone).
    return request and bool(_ZOOM_LOCAL.fullmatch(value))


def _date_ok(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))


def _prepare(schema: Any, closed: bool) -> Any:
    """OpenAPI 3.0 schema → JSON Schema draft 7 (``nullable``), optionally with closed objects."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("example", "extensions", "description", "xml", "deprecated"):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _prepare(sub, closed) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _prepare(value, closed)
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_prepare(sub, closed) for sub in value]
        else:
            out[key] = value
    if schema.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if closed and out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out
