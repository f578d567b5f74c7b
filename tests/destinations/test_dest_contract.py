"""Every request body the clients send validates against the platforms' official specs.

SendGrid: OpenAPI 3.1 files, whole requests (path, query, headers, body) via openapi-core.
Iterable: the Swagger 2.0 ``definitions`` of each operation's body, via jsonschema.
"""

from __future__ import annotations

import json
import os
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from dest_support import FakeTime
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from segport.destinations import Contact, RetryPolicy, make_destination


def shared_dir() -> Path:
    env = os.environ.get("SEGPORT_SHARED_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared"


REFERENCE = shared_dir() / "reference"
pytestmark = pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"no specs at {REFERENCE}")

CONTACTS = [
    Contact("ann@example.com", "Ann", "Lee", "New Zealand", "Auckland", "Auckland", "1010"),
    Contact("bob@example.com"),
    Contact("cy@example.com", first_name="Cy", city="Zürich"),
]


class HttpxOpenAPIRequest:
    """openapi-core's Request protocol over an ``httpx.Request``."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        query: dict[str, list[str]] = {}
        for key, value in request.url.params.multi_items():
            query.setdefault(key, []).append(value)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict([(k, v) for k, vs in query.items() for v in vs]),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return f"{self._request.url.scheme}://{self._request.url.netloc.decode()}"

    @property
    def path(self) -> str:
        return self._request.url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "")


@cache
def sendgrid_spec(name: str) -> OpenAPI:
    return OpenAPI.from_file_path(str(REFERENCE / "sendgrid-openapi" / name))


def sendgrid_spec_for(path: str) -> OpenAPI:
    if path.startswith("/v3/marketing/lists"):
        return sendgrid_spec("tsg_mc_lists_v3.json")
    if path.startswith("/v3/marketing/contacts"):
        return sendgrid_spec("tsg_mc_contacts_v3.json")
    if path.startswith("/v3/scopes"):
        return sendgrid_spec("tsg_scopes_v3.json")
    return sendgrid_spec("tsg_user_v3.json")


@cache
def iterable_swagger() -> dict[str, Any]:
    return json.loads((REFERENCE / "iterable-swagger" / "api-docs.json").read_text())


def iterable_body_schema(method: str, path: str) -> dict[str, Any] | None:
    swagger = iterable_swagger()
    operation = swagger["paths"][path][method.lower()]
    for param in operation.get("parameters", []):
        if param.get("in") == "body":
            return {**param["schema"], "definitions": swagger["definitions"]}
    return None


def recorder(answer: Any) -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return answer(request)

    return seen, httpx.MockTransport(handler)


def options(transport: httpx.MockTransport, fake_time: FakeTime) -> dict[str, Any]:
    return {"transport": transport, "clock": fake_time.clock, "sleep": fake_time.sleep,
            "policy": RetryPolicy(rng=lambda: 0.5)}


async def test_sendgrid_requests_match_openapi(fake_time: FakeTime) -> None:
    list_id, job_id = str(uuid.uuid4()), str(uuid.uuid4())

    def answer(request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if path == "/v3/scopes":
            return httpx.Response(200, json={"scopes": ["marketing.read", "marketing.update"]})
        if path == "/v3/marketing/lists" and method == "GET":
            return httpx.Response(200, json={"result": [], "_metadata": {"count": 0}})
        if path == "/v3/marketing/lists":
            return httpx.Response(201, json={"id": list_id, "name": "VIP", "contact_count": 0})
        if method in ("PUT", "DELETE"):
            return httpx.Response(202, json={"job_id": job_id})
        if path.endswith("/search/emails"):
            return httpx.Response(200, json={"result": {
                "ann@example.com": {"contact": {"id": str(uuid.uuid4())}},
                "bob@example.com": {"error": "contact not found"}}})
        return httpx.Response(200, json={"id": job_id, "status": "completed",
                                         "job_type": "upsert", "results": {}})

    seen, transport = recorder(answer)
    async with make_destination("sendgrid", "SG.contract-test-key",
                                **options(transport, fake_time)) as dest:
        await dest.validate()
        ref = await dest.ensure_list("VIP")
        result = await dest.upsert(ref.id, [*CONTACTS, Contact("long@example.com", "N" * 51)])
        await dest.remove(ref.id, ["ann@example.com", "bob@example.com"])
    assert [o.email for o in result.rejected] == ["long@example.com"]  # refused before sending
    kinds = {(r.method, r.url.path.split("/")[-1]) for r in seen}
    assert {("GET", "scopes"), ("POST", "lists"), ("PUT", "contacts"), ("POST", "emails"),
            ("DELETE", "contacts"), ("GET", job_id)} <= kinds
    for request in seen:
        sendgrid_spec_for(request.url.path).validate_request(HttpxOpenAPIRequest(request))


async def test_sendgrid_contract_catches_a_bad_body() -> None:
    request = httpx.Request("PUT", "https://api.sendgrid.com/v3/marketing/contacts",
                            headers={"Authorization": "Bearer SG.x"},
                            json={"list_ids": ["not-a-uuid"], "contacts": []})
    with pytest.raises(Exception, match=r"(?i)invalid|validat"):
        sendgrid_spec("tsg_mc_contacts_v3.json").validate_request(HttpxOpenAPIRequest(request))


async def test_iterable_bodies_match_swagger_definitions(fake_time: FakeTime) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"lists": []})
        if request.url.path == "/api/lists":
            return httpx.Response(200, json={"listId": 77})
        return httpx.Response(200, json={"successCount": 3, "failCount": 0, "invalidEmails": [],
                                         "invalidUserIds": [], "failedUpdates": {}})

    seen, transport = recorder(answer)
    async with make_destination("iterable", "iterable-contract-key",
                                **options(transport, fake_time)) as dest:
        ref = await dest.ensure_list("Newsletter")
        await dest.upsert(ref.id, CONTACTS)
        await dest.remove(ref.id, ["ann@example.com"])
    posted = [r for r in seen if r.method == "POST"]
    assert [r.url.path for r in posted] == ["/api/lists", "/api/lists/subscribe",
                                            "/api/lists/unsubscribe"]
    for request in posted:
        schema = iterable_body_schema("POST", request.url.path)
        assert schema is not None
        body = json.loads(request.content)
        jsonschema.Draft4Validator(schema).validate(body)
        assert request.headers["api-key"]
    subscribe = json.loads(posted[1].content)
    assert subscribe["subscribers"][0] == {"email": "ann@example.com",
                                           "dataFields": {"firstName": "Ann", "lastName": "Lee"}}
    assert set(iterable_swagger()["paths"]) >= {"/api/lists", "/api/lists/subscribe"}


def test_iterable_contract_catches_a_bad_body() -> None:
    schema = iterable_body_schema("POST", "/api/lists/subscribe")
    assert schema is not None
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate({"listId": "7", "subscribers": []})
