"""``{base_path}/openapi.json``: generated from the endpoint table, on in development, off in
production, and a document whose every operation lists what it can answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from authkeeper import Settings
from authkeeper.http.openapi import statuses
from tests.conftest import TestApp, need

pytestmark = pytest.mark.anyio


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_default_is_on_in_development_and_off_in_production() -> None:
    assert Settings().openapi_enabled
    assert not Settings(mode="production").openapi_enabled
    assert Settings(mode="production", openapi=True).openapi_enabled
    assert not Settings(openapi=False).openapi_enabled


async def test_document_is_the_endpoint_table(app: TestApp) -> None:
    r = await app.get("/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    assert doc["openapi"] == "3.1.0" and doc["servers"] == [{"url": "/api/auth"}]
    api = app.auth.api
    table = [ep for t in api.routes.values() for ep in t.values()] + [
        ep for _, t in api.param_routes for ep in t.values()
    ]
    listed = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert listed == {(ep.method, ep.path) for ep in table}
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for ep in table:
        op = doc["paths"][ep.path][ep.method.lower()]
        assert sorted(int(s) for s in op["responses"]) == statuses(ep), ep.path
        assert {"400", "429", "503"} <= set(op["responses"])
        if ep.method == "POST":
            assert {"403", "413", "415"} <= set(op["responses"]) and "requestBody" in op
        if ep.auth in ("session", "fresh"):
            assert "401" in op["responses"] and op["security"]
    for ref in set(_refs(doc)):
        assert _resolve(doc, ref) is not None


async def test_parameters_bodies_and_statuses(app: TestApp) -> None:
    doc = (await app.get("/openapi.json")).json()
    paths = doc["paths"]

    def params(path: str, method: str = "get") -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in paths[path][method].get("parameters", [])}

    assert set(params("/get-session")) == {"disableRefresh", "disableCookieCache"}
    assert set(params("/verify-email")) == {"token", "callbackURL"}
    assert params("/reset-password/{token}")["token"] == {
        "name": "token",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    assert params("/admin/audit-events")["since"]["schema"]["format"] == "date-time"
    assert {"searchValue", "limit", "filterValue"} <= set(params("/admin/list-users"))
    assert set(params("/admin/get-user")) == {"id"}
    # A handler that validates its own body (admin: permission first) still documents it.
    body = paths["/admin/update-user"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AdminUpdateUserBody"}
    schemas = doc["components"]["schemas"]
    assert set(schemas["AdminUpdateUserBody"]["required"]) == {"userId", "data"}
    assert "userId" not in schemas["UpdateUserBody"]["properties"]
    assert schemas["SignInBody"]["properties"]["email"]["format"] == "email"
    sign_up = paths["/sign-up/email"]["post"]
    assert set(sign_up["requestBody"]["content"]) == {"application/json", "application/x-www-form-urlencoded"}
    assert "422" in sign_up["responses"] and "401" not in sign_up["responses"]
    assert set(paths["/reset-password/{token}"]["get"]["responses"]) == {"302", "400", "403", "404", "429", "503"}
    assert "405" in paths["/get-session"]["post"]["responses"]
    error = _resolve(doc, paths["/ok"]["get"]["responses"]["429"]["$ref"])
    assert error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert schemas["Error"]["properties"].keys() == {"code", "message"}


async def test_off_when_disabled(make_app: Callable[..., Any]) -> None:
    app = await make_app(openapi=False)
    r = await app.get("/openapi.json")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"


async def test_document_is_valid_openapi_3_1(app: TestApp) -> None:
    try:
        import schemathesis
    except ImportError:
        need("schemathesis is not installed (pip install -e '.[test]')")
    doc = (await app.get("/openapi.json")).json()
    schemathesis.openapi.from_dict(doc).validate()  # against the OpenAPI 3.1 meta-schema
