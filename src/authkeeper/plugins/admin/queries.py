"""Query strings of ``GET /admin/list-users`` and ``GET /admin/audit-events``, parsed into
the store's :class:`UserQuery` / :class:`AuditQuery`. Every value ends up a bound
parameter (``search_users`` escapes LIKE input); a bad value is a ``VALIDATION_ERROR``
naming it, as ``[query.<name>] …``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast, get_args

from starlette.datastructures import QueryParams

from ...core import errors
from ...core.models import parse_iso
from ...core.queries import AuditQuery, Operator, UserQuery
from ...core.settings import Settings
from .constants import (
    AUDIT_DEFAULT_LIMIT,
    AUDIT_MAX_LIMIT,
    LIST_USERS_DEFAULT_LIMIT,
    LIST_USERS_MAX_LIMIT,
)

_CORE_FIELDS = {
    "id": "string",
    "name": "string",
    "email": "string",
    "emailVerified": "boolean",
    "image": "string",
    "createdAt": "date",
    "updatedAt": "date",
}
_PLUGIN_FIELDS = {
    "role": "string",
    "banned": "boolean",
    "banReason": "string",
    "banExpires": "date",
    "twoFactorEnabled": "boolean",
}
"""The types of Better Auth's plugin columns; one is listed only while its plugin is installed
(a filter on an absent field is refused, not dropped)."""
_OPERATORS: tuple[str, ...] = get_args(Operator)
MAX_OFFSET = 2**31 - 1
"""Past any real table, and within what every database accepts as an OFFSET."""


def _bad(name: str, message: str) -> errors.AuthError:
    return errors.AuthError(errors.VALIDATION_ERROR, message, field=name, source="query")


def _choice(params: QueryParams, name: str, options: Iterable[str], default: str | None = None) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    options = tuple(options)
    if value not in options:
        raise _bad(name, "Invalid option: expected one of " + "|".join(f'"{o}"' for o in options))
    return value


def _int(params: QueryParams, name: str, *, default: int, maximum: int | None = None, clamp: bool = False) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise _bad(name, "Invalid input: expected an integer") from None
    if number < 0:
        raise _bad(name, "Too small: expected a number >= 0")
    if maximum is not None and number > maximum:
        if not clamp:
            raise _bad(name, f"Too big: expected a number <= {maximum}")
        number = maximum
    return number


def _date(name: str, value: str | None) -> datetime | None:
    if not value:
        return None
    if "T" in value and value.count(" ") == 1:
        value = value.replace(" ", "+")  # a "+01:00" offset that arrived unencoded
    parsed = parse_iso(value)
    if parsed is None:
        raise _bad(name, "Invalid input: expected an ISO 8601 date")
    return parsed


def user_fields(settings: Settings, installed: frozenset[str] = frozenset(_PLUGIN_FIELDS)) -> dict[str, str]:
    """Fields list-users may filter and sort on, with their types (hidden fields excluded):
    the core's, the installed plugins' (``installed``: their user columns), the additional ones."""
    fields = dict(_CORE_FIELDS)
    fields.update({name: kind for name, kind in _PLUGIN_FIELDS.items() if name in installed})
    for spec in settings.user.additional_fields:
        if spec.returned:
            fields[spec.name] = spec.type
    return fields


def _coerce(name: str, kind: str, value: str) -> Any:
    if kind == "boolean":
        lowered = value.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise _bad(name, "Invalid input: expected boolean")
        return lowered in ("true", "1")
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            raise _bad(name, "Invalid input: expected number") from None
    if kind == "date":
        return _date(name, value)
    return value


def user_query(
    params: QueryParams, settings: Settings, installed: frozenset[str] = frozenset(_PLUGIN_FIELDS)
) -> tuple[UserQuery, dict[str, int]]:
    """The search and the ``limit``/``offset`` to echo (only those given and non-zero)."""
    fields = user_fields(settings, installed)
    search_field = _choice(params, "searchField", ("email", "name"), "email")
    search_operator = _choice(params, "searchOperator", ("contains", "starts_with", "ends_with"), "contains")
    sort_by = _choice(params, "sortBy", fields)
    sort_direction = _choice(params, "sortDirection", ("asc", "desc"), "asc")
    limit = _int(params, "limit", default=0, maximum=LIST_USERS_MAX_LIMIT, clamp=True)
    offset = _int(params, "offset", default=0, maximum=MAX_OFFSET)
    filters: tuple[tuple[str, Operator, Any], ...] = ()
    raw_values = params.getlist("filterValue")
    if raw_values:
        field = _choice(params, "filterField", fields, "email")
        operator = cast(Operator, _choice(params, "filterOperator", _OPERATORS, "eq"))
        assert field is not None
        kind = fields[field]
        if operator in ("contains", "starts_with", "ends_with") and kind != "string":
            raise _bad("filterOperator", f"{operator} needs a text field; {field} is a {kind}")
        if operator in ("lt", "lte", "gt", "gte") and kind == "boolean":
            raise _bad("filterOperator", f"{operator} needs an ordered field; {field} is a boolean")
        if operator in ("in", "not_in") and len(raw_values) == 1:
            raw_values = [v for v in raw_values[0].split(",") if v]
        values = [_coerce("filterValue", kind, v) for v in raw_values]
        value: Any = values if operator in ("in", "not_in") else values[0]
        filters = ((field, operator, value),)
    query = UserQuery(
        search_field=search_field,
        search_operator=cast(Any, search_operator),
        search_value=params.get("searchValue") or None,
        filters=filters,
        sort_by=sort_by,
        sort_direction=cast(Any, sort_direction),
        limit=limit or LIST_USERS_DEFAULT_LIMIT,
        offset=offset,
    )
    echo = {key: number for key, number in (("limit", limit), ("offset", offset)) if number}
    return query, echo


def audit_query(params: QueryParams, known: Sequence[str]) -> AuditQuery:
    """``userId``, ``event`` (repeated or comma-separated), ``since``/``until`` (ISO 8601),
    ``limit`` (1…500) and ``offset``."""
    events: list[str] = []
    for raw in params.getlist("event"):
        for name in raw.split(","):
            name = name.strip()
            if not name:
                continue
            if name not in known:
                raise _bad("event", f"Unknown event {name[:64]!r}")
            events.append(name)
    limit = _int(params, "limit", default=AUDIT_DEFAULT_LIMIT, maximum=AUDIT_MAX_LIMIT)
    if limit == 0:
        raise _bad("limit", "Too small: expected a number >= 1")
    return AuditQuery(
        user_id=params.get("userId") or None,
        events=tuple(dict.fromkeys(events)),
        since=_date("since", params.get("since")),
        until=_date("until", params.get("until")),
        limit=limit,
        offset=_int(params, "offset", default=0, maximum=MAX_OFFSET),
    )
