"""The OpenAPI 3.1 document of the JSON API, generated from the endpoint table (never written
by hand) and served at ``{base_path}/openapi.json`` when ``Settings.openapi_enabled``.

Each :class:`~authkeeper.web.call.Endpoint` becomes one operation: its path (``{param}``
segments as path parameters), the query parameters it names, its request body from the pydantic
model (``$defs`` moved to ``components/schemas``), and every status it can answer: those the
pipeline of :class:`~authkeeper.http.app.AuthApp` gives every endpoint of its kind (see
:func:`statuses`) plus the handler's own (``Endpoint.statuses``). Errors share one schema,
``{code, message}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import Any

from starlette.responses import Response

from ..core.settings import Settings
from ..web.body import Body
from ..web.call import Call, Endpoint
from ..web.cookies import CookieJar
from .security import _CALLBACK_FIELDS

OPENAPI_PATH = "/openapi.json"
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_REF = "#/components/schemas/"
_DATE_TIME = {"type": "string", "format": "date-time"}
QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 0},
    "offset": {"type": "integer", "minimum": 0},
    "since": _DATE_TIME,
    "until": _DATE_TIME,
}
"""Query parameters that are not free text, by name; every other one is a string."""

DESCRIPTIONS = {
    200: "Success",
    302: "Redirect to the URL in Location",
    400: "Invalid input (VALIDATION_ERROR, BAD_REQUEST or a flow's own code)",
    401: "No live session (UNAUTHORIZED), or a wrong credential",
    403: "Origin/CSRF check failed, untrusted callback URL, session not fresh, or not permitted",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    415: "Content-Type not accepted",
    422: "Valid input the server cannot act on (the user already exists)",
    429: "Rate limited or locked out; wait Retry-After seconds",
    503: "Database busy; retry after Retry-After seconds",
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "Stable error code (never renamed)"},
        "message": {"type": "string", "description": "Human-readable message"},
    },
    "required": ["message"],
}


def _version() -> str:
    try:
        return metadata.version("authkeeper")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree not installed
        return "0"


def body_model(ep: Endpoint) -> type[Body] | None:
    """The model of the endpoint's body: validated by the router, or by the handler itself."""
    return ep.body or ep.body_doc


def statuses(ep: Endpoint) -> list[int]:
    """Every status ``ep`` can answer, in order.

    The pipeline's, for every endpoint: 400 (bad query, e.g. a NUL), 429 (rate limit), 503
    (database busy). POST: 403 (Origin check of cookie requests), 413, 415. ``session`` and
    ``fresh``: 401; ``fresh``: 403. A callback-like field in the body or query: 403. A path
    parameter: 404 (an empty or slash-holding segment). Then the handler's ``statuses``; 200
    unless those name the success statuses."""
    found = {400, 429, 503, *ep.statuses}
    if not any(200 <= s < 400 for s in ep.statuses):
        found.add(200)
    if ep.method == "POST":
        found |= {403, 413, 415}
    if ep.auth in ("session", "fresh"):
        found.add(401)
    if ep.auth == "fresh":
        found.add(403)
    model = body_model(ep)
    fields = set(ep.query) | (set(model.model_fields) if model is not None else set())
    if fields & set(_CALLBACK_FIELDS):
        found.add(403)
    if _PARAM.search(ep.path):
        found.add(404)
    return sorted(found)


def operation_id(ep: Endpoint) -> str:
    words = re.split(r"[^A-Za-z0-9]+", ep.path)
    return ep.method.lower() + "".join(w[:1].upper() + w[1:] for w in words if w)


def _tag(ep: Endpoint) -> str:
    first = ep.path.strip("/").split("/", 1)[0]
    return first if first in ("admin", "two-factor") else "core"


class _Components:
    """``components/schemas``: one entry per body model, names made unique."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
        self._names: dict[type[Body], str] = {}

    def ref(self, model: type[Body], ep: Endpoint) -> dict[str, str]:
        name = self._names.get(model)
        if name is None:
            name = self._add(model, ep)
        return {"$ref": _REF + name}

    def _free(self, name: str) -> bool:
        return name not in self.schemas

    def _add(self, model: type[Body], ep: Endpoint) -> str:
        name = model.__name__
        if not self._free(name):
            # Two models of one name (the admin plugin's UpdateUserBody and the core's): qualify
            # by the first path segment, then number.
            prefix = "".join(w.title() for w in re.split(r"[^A-Za-z0-9]+", ep.path.strip("/").split("/")[0]) if w)
            name = prefix + model.__name__
            n = 2
            while not self._free(name):
                name, n = f"{prefix}{model.__name__}{n}", n + 1
        self._names[model] = name
        schema = model.model_json_schema(ref_template=_REF + name + "_{model}")
        for def_name, definition in schema.pop("$defs", {}).items():
            self.schemas[f"{name}_{def_name}"] = definition
        self.schemas[name] = schema
        return name


def _request_body(ep: Endpoint, components: _Components) -> dict[str, Any]:
    model = body_model(ep)
    if model is None:
        schema: dict[str, Any] = {"type": "object"}
        required = False
    else:
        schema = components.ref(model, ep)
        required = bool(model.model_json_schema().get("required"))
    content = {"application/json": {"schema": schema}}
    if ep.form:
        content["application/x-www-form-urlencoded"] = {"schema": schema}
    return {"required": required, "content": content}


def _response(status: int) -> dict[str, Any]:
    """What ``components/responses`` holds for ``status``."""
    item: dict[str, Any] = {"description": DESCRIPTIONS.get(status, "See the code")}
    if status == 302:
        item["headers"] = {"Location": {"schema": {"type": "string"}}}
    elif status >= 400:
        item["content"] = {"application/json": {"schema": {"$ref": _REF + "Error"}}}
        if status in (429, 503):
            item["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
    return item


def _responses(ep: Endpoint, shared: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in statuses(ep):
        if status < 300:
            out[str(status)] = _response(status)
            continue
        name = f"Status{status}"
        shared.setdefault(name, _response(status))
        out[str(status)] = {"$ref": f"#/components/responses/{name}"}
    return out


def _parameters(ep: Endpoint) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in _PARAM.findall(ep.path)
    ]
    params += [
        {"name": name, "in": "query", "required": False, "schema": QUERY_SCHEMAS.get(name, {"type": "string"})}
        for name in ep.query
    ]
    return params


def document(settings: Settings, endpoints: Iterable[Endpoint]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``endpoints`` as ``settings`` serves them."""
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    responses: dict[str, Any] = {}
    for ep in endpoints:
        op: dict[str, Any] = {"operationId": operation_id(ep), "tags": [_tag(ep)]}
        params = _parameters(ep)
        if params:
            op["parameters"] = params
        if ep.method == "POST":
            op["requestBody"] = _request_body(ep, components)
        if ep.auth != "none":
            op["security"] = [{"bearerAuth": []}, {"sessionCookie": []}] + ([{}] if ep.auth == "optional" else [])
        op["responses"] = _responses(ep, responses)
        paths.setdefault(ep.path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{settings.app_name} auth API",
            "version": _version(),
            "description": "Better Auth's HTTP protocol, as authkeeper serves it.",
        },
        "servers": [{"url": settings.base_path}],
        "paths": paths,
        "components": {
            "schemas": components.schemas,
            "responses": dict(sorted(responses.items())),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The session token (set-auth-token, or token of sign-in)",
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": CookieJar.from_settings(settings).session_token,
                },
            },
        },
    }


def openapi_endpoint(settings: Settings, endpoints: Sequence[Endpoint]) -> Endpoint:
    """``GET /openapi.json``: the document of ``endpoints`` and of itself, built once, now."""

    async def openapi_json(call: Call) -> Response:
        return Response(body, media_type="application/json")

    me = Endpoint("GET", OPENAPI_PATH, openapi_json)
    body = json.dumps(document(settings, [*endpoints, me]), separators=(",", ":"), ensure_ascii=False).encode()
    return me
