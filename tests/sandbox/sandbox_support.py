"""Helpers for the sandbox tests: waiting on conditions, and validating bodies against the
platforms' official specs (SendGrid OpenAPI 3.1 via openapi-core, Iterable Swagger 2.0
definitions via jsonschema) found in ``shared/reference`` beside the repository."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jsonschema
import pytest

T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], timeout: float = 5.0, every: float = 0.02) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        time.sleep(every)


def reference_dir() -> Path:
    """``shared/reference``: $SEGPORT_SHARED_DIR/reference, else beside the repository."""
    shared = os.environ.get("SEGPORT_SHARED_DIR")
    root = Path(shared) if shared else Path(__file__).resolve().parents[3] / "shared"
    ref = root / "reference"
    if not (ref / "sendgrid-openapi").is_dir():
        pytest.skip(f"official specs not found at {ref} (set SEGPORT_SHARED_DIR)")
    return ref


# --- SendGrid: OpenAPI 3.1 ------------------------------------------------------------------------
def _nullable_to_31(node: Any) -> Any:
    """The files are 3.1 but keep 3.0's ``nullable: true`` (their own 401 example has
    ``"field": null``); express it the 3.1 way, ``type: [T, "null"]``."""
    if isinstance(node, dict):
        out = {k: _nullable_to_31(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            out["type"] = [node["type"], "null"]
        return out
    if isinstance(node, list):
        return [_nullable_to_31(v) for v in node]
    return node


@cache
def _sendgrid_specs() -> tuple[tuple[dict[str, Any], Any], ...]:
    from openapi_core import OpenAPI

    out = []
    for path in sorted((reference_dir() / "sendgrid-openapi").glob("*.json")):
        spec = _nullable_to_31(json.loads(path.read_text()))
        out.append((spec, OpenAPI.from_dict(spec)))
    return tuple(out)


def _sendgrid_api(template: str, method: str) -> tuple[dict[str, Any], Any]:
    for spec, api in _sendgrid_specs():
        if method.lower() in spec["paths"].get(template, {}):
            return spec, api
    raise AssertionError(f"{method} {template} is not in the SendGrid specs")


def validate_sendgrid(template: str, response: httpx.Response) -> None:
    """Validate an emulator response against its operation in the official spec. Error statuses
    the operation does not document (429 anywhere; 400/401/403 on some list endpoints) are
    checked against the specs' shared ``ErrorResponse`` schema."""
    from openapi_core.templating.responses.exceptions import ResponseNotFound
    from openapi_core.testing import MockRequest, MockResponse
    from openapi_schema_validator import OAS31Validator

    request = response.request
    _, api = _sendgrid_api(template, request.method)
    mock_req = MockRequest("https://api.sendgrid.com", request.method, request.url.path,
                           args=dict(request.url.params))
    content_type = response.headers.get("content-type", "").split(";")[0]
    mock_resp = MockResponse(response.content, status_code=response.status_code,
                             content_type=content_type)
    try:
        api.validate_response(mock_req, mock_resp)
    except ResponseNotFound:
        assert response.status_code >= 400, response.status_code
        contacts = next(s for s, _ in _sendgrid_specs() if "ErrorResponse" in s["components"]
                        .get("schemas", {}) and "/v3/marketing/contacts" in s["paths"])
        schema = contacts["components"]["schemas"]["ErrorResponse"]
        OAS31Validator(schema).validate(response.json())


def validate_sendgrid_request(template: str, request: httpx.Request) -> None:
    """Validate a request the tests send (so the emulator is exercised with spec-shaped calls)."""
    from openapi_core.testing import MockRequest

    _, api = _sendgrid_api(template, request.method)
    mock = MockRequest("https://api.sendgrid.com", request.method, request.url.path,
                       args=dict(request.url.params), headers=dict(request.headers),
                       data=request.content or None)
    api.validate_request(mock)


# --- Iterable: Swagger 2.0 definitions as JSON Schema ---------------------------------------------
@cache
def _iterable_definitions() -> dict[str, Any]:
    doc = json.loads((reference_dir() / "iterable-swagger" / "api-docs.json").read_text())
    definitions = doc["definitions"]
    # Swagger 2.0 cannot say "nullable"; Iterable sends "params": null on errors (destinations.md).
    params = definitions["IterableApiResponse"]["properties"]["params"]
    params["type"] = ["object", "null"]
    return definitions


def validate_iterable(definition: str, body: Any) -> None:
    """Validate ``body`` against ``#/definitions/<definition>`` of the official Swagger file."""
    schema = {"$ref": f"#/definitions/{definition}", "definitions": _iterable_definitions()}
    jsonschema.Draft4Validator(schema).validate(body)


def iterable_response_schema(path: str, method: str, status: int) -> str | None:
    """The definition name the Swagger file gives for a response, if any."""
    doc = json.loads((reference_dir() / "iterable-swagger" / "api-docs.json").read_text())
    schema = doc["paths"][path][method.lower()]["responses"].get(str(status), {}).get("schema")
    return schema["$ref"].rsplit("/", 1)[1] if schema else None


def iterable_operation(path: str, method: str) -> dict[str, Any]:
    """The Swagger file's operation object for ``method path`` (KeyError if undocumented)."""
    doc = json.loads((reference_dir() / "iterable-swagger" / "api-docs.json").read_text())
    return dict(doc["paths"][path][method.lower()])


def validate_iterable_text(path: str, response: httpx.Response) -> str:
    """Validate a non-JSON success of an Iterable operation: the request's query and path
    parameters as declared, the media type among those it ``produces`` (when it declares any),
    the body against its 200 schema. Returns the body."""
    request = response.request
    operation = iterable_operation(path, request.method)
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    found = re.fullmatch(pattern, request.url.path)
    assert found is not None, (path, request.url.path)
    for param in operation.get("parameters", []):
        if param["in"] not in ("query", "path"):
            continue
        raw = (request.url.params if param["in"] == "query" else found.groupdict()).get(
            param["name"])
        if raw is None:
            assert not param.get("required"), f"{param['name']} is required"
            continue
        value = _parameter_value(param["type"], raw)
        jsonschema.Draft4Validator({"type": param["type"]}).validate(value)
    produces = operation.get("produces")
    if produces:
        assert response.headers["content-type"].split(";")[0].strip() in produces
    schema = operation["responses"][str(response.status_code)]["schema"]
    jsonschema.Draft4Validator(schema).validate(response.text)
    return response.text


def _parameter_value(kind: str, raw: str) -> Any:
    """A query/path string as the declared Swagger type (left a string when it is not one)."""
    if kind == "integer" and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


# --- Autopilot: destinations.md shapes, hand-written ----------------------------------------------
AUTOPILOT_ERROR = {"type": "object", "required": ["error", "message"],
                   "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}
AUTOPILOT_LISTS = {
    "type": "object", "required": ["lists"],
    "properties": {"lists": {"type": "array", "items": {
        "type": "object", "required": ["list_id", "title"],
        "properties": {"list_id": {"type": "string", "pattern": "^contactlist_"},
                       "title": {"type": "string"}}}}},
}
AUTOPILOT_LIST_CREATED = {"type": "object", "required": ["list_id"],
                          "properties": {"list_id": {"type": "string", "pattern": "^contactlist_"}}}
AUTOPILOT_CONTACT_IDS = {
    "type": "object", "required": ["contact_ids"],
    "properties": {"contact_ids": {"type": "array",
                                   "items": {"type": "string", "pattern": "^person_"}}},
}

AUTOPILOT_LIST_CONTACTS = {
    "type": "object", "required": ["contacts", "total_contacts"], "additionalProperties": False,
    "properties": {
        "contacts": {"type": "array", "maxItems": 100, "items": {
            "type": "object", "required": ["contact_id", "Email"],
            "properties": {"contact_id": {"type": "string", "pattern": "^person_"},
                           "Email": {"type": "string"}}}},
        "total_contacts": {"type": "integer", "minimum": 0},
        "bookmark": {"type": "string", "minLength": 1},
    },
}


def validate_autopilot(schema: dict[str, Any], body: Any) -> None:
    """Validate ``body`` against one of the hand-written Autopilot schemas."""
    jsonschema.Draft202012Validator(schema).validate(body)
