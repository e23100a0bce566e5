"""Request bodies: reading them within a size limit, parsing JSON and HTML forms, refusing
text no field can hold, and validating them against a model (the JSON API's bodies and the
plugins' derive from :class:`Body`)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request

from ..core import errors

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_DEPTH = 32
_LONG = 2048


def _at(where: str) -> str:
    """``body.a.b`` → the error's field ``a.b`` (``body`` alone: the body as a whole)."""
    return where.partition(".")[2]


def check_text(value: Any, where: str = "body", depth: int = 0) -> None:
    """Refuse input no field can hold: U+0000 (PostgreSQL text cannot store it), lone
    surrogates (they have no UTF-8 form) and nesting deeper than any endpoint reads."""
    if isinstance(value, str):
        if "\x00" in value:
            raise errors.AuthError(errors.VALIDATION_ERROR, "Invalid input: NUL character", field=_at(where))
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise errors.AuthError(
                    errors.VALIDATION_ERROR, "Invalid input: unpaired surrogate", field=_at(where)
                ) from None
    elif isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise errors.AuthError(errors.BAD_REQUEST, "Request body is nested too deeply")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                check_text(key, where, depth + 1)
            check_text(item, f"{where}.{key}", depth + 1)


def content_type(request: Request) -> str:
    """The media type of the body, lower-cased, without parameters (empty when absent)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_bytes(request: Request, limit: int) -> bytes:
    """The whole body; PAYLOAD_TOO_LARGE past ``limit`` bytes, declared or sent."""
    length = request.headers.get("content-length")
    if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > limit):
        raise errors.AuthError(errors.PAYLOAD_TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.AuthError(errors.PAYLOAD_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_form(raw: bytes) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body, checked as JSON input is."""
    try:
        # errors="strict": "%FF" must be refused, not turned into U+FFFD (two different
        # byte strings would become the same password).
        data = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict"))
    except UnicodeDecodeError:
        raise errors.AuthError(errors.BAD_REQUEST, "Invalid UTF-8 in request body") from None
    check_text(data)
    return data


async def read_object(request: Request, *, limit: int, form: bool) -> tuple[dict[str, Any], bool]:
    """The body as an object: a JSON object, or (when ``form``) the fields of an HTML form;
    empty when there is no body. Returns it and whether it was a form. Refused: past ``limit``
    bytes (413), another or no media type (415), bad JSON (400), JSON that is not an object,
    and text no field can hold (:func:`check_text`)."""
    raw = await read_bytes(request, limit)
    if not raw.strip():
        return {}, False
    ctype = content_type(request)
    allowed = "application/json" + (f", {FORM_TYPE}" if form else "")
    if ctype == "application/json":
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise errors.AuthError(errors.BAD_REQUEST) from None
        if not isinstance(data, dict):
            raise errors.AuthError(errors.VALIDATION_ERROR, "Invalid input: expected object", field="")
        check_text(data)
        return data, False
    if ctype == FORM_TYPE and form:
        return parse_form(raw), True
    if not ctype:
        raise errors.AuthError(errors.UNSUPPORTED_MEDIA_TYPE, f"Content-Type is required. Allowed types: {allowed}")
    raise errors.AuthError(
        errors.UNSUPPORTED_MEDIA_TYPE, f'Content-Type "{ctype[:100]}" is not allowed. Allowed types: {allowed}'
    )


class Body(BaseModel):
    """The base of every request body model: unknown fields ignored, strings bounded."""

    model_config = ConfigDict(extra="ignore", str_max_length=_LONG)


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()))
    where = f"[body.{loc}]" if loc else "[body]"
    kind = err.get("type", "")
    if kind == "missing":
        return f"{where} Invalid input: expected a value, received undefined"
    if kind == "string_too_long":
        return f"{where} Too long: at most {err.get('ctx', {}).get('max_length')} characters"
    if kind == "string_too_short":
        return f"{where} Too short"
    if kind.endswith("_type") or kind in ("string_type", "bool_parsing", "int_parsing"):
        expected = kind.split("_")[0]
        expected = {"bool": "boolean", "model": "object", "dict": "object"}.get(expected, expected)
        return f"{where} Invalid input: expected {expected}"
    return f"{where} {err.get('msg', 'Invalid input')}"


def validate(model: type[Body], data: Any, *, form: bool = False) -> Body:
    """The validated body, or VALIDATION_ERROR naming each bad field (spec §1.5's format).
    Strict for JSON (no type coercion: a number is not a string, null is not a name), lenient
    for HTML forms, where every value is text."""
    if not isinstance(data, dict):
        raise errors.AuthError(errors.VALIDATION_ERROR, "Invalid input: expected object", field="")
    try:
        return model.model_validate(data, strict=not form)
    except ValidationError as exc:
        message = "; ".join(_describe(e) for e in exc.errors(include_url=False))  # type: ignore[arg-type]
        raise errors.AuthError(errors.VALIDATION_ERROR, message) from None
