"""Assertions shared by the HTTP tests: the error envelope of spec §1.5."""

from __future__ import annotations

import httpx


def assert_error(r: httpx.Response, status: int, code: str, message: str | None = None) -> dict:
    """``status`` with a JSON ``{code, message}`` body, never FastAPI/Starlette's ``detail``."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body, dict), body
    assert "detail" not in body, body
    assert body.get("code") == code, body
    assert isinstance(body.get("message"), str) and body["message"], body
    if message is not None:
        assert body["message"] == message, body
    return body


def assert_envelope(r: httpx.Response) -> None:
    """Any 4xx/5xx: a JSON object with a string ``code`` and ``message`` and no ``detail``."""
    assert r.status_code >= 400, r.status_code
    body = r.json()
    assert isinstance(body, dict) and "detail" not in body, body
    assert isinstance(body.get("code"), str) and body["code"], body
    assert isinstance(body.get("message"), str) and body["message"], body
