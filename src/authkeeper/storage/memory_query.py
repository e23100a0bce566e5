"""Conditions, the user search and the audit listing of the in-memory store, with SQL's
meaning: a comparison with an empty column is false, a boolean left empty reads as false in a
user filter, empty values sort first."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from ..core.queries import AnyOf, AuditQuery, Compare, Operator, UserQuery, Where
from .memory_data import Row

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "lte": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "gte": operator.ge,
}


def holds(value: Any, cond: Any) -> bool:
    """One entry of a :data:`~authkeeper.core.queries.Where`."""
    if isinstance(cond, AnyOf):
        return any(holds(value, option) for option in cond.options)
    if isinstance(cond, Compare):
        return value is not None and cond.value is not None and _COMPARE[cond.op](value, cond.value)
    if cond is None:
        return value is None
    return value is not None and bool(value == cond)


def matcher(where: Where | None) -> Callable[[Row], bool]:
    items = list((where or {}).items())
    return lambda row: all(holds(row[name], cond) for name, cond in items)


def _like(value: Any, op: str, pattern: str) -> bool:
    if value is None:
        return False
    text = str(value)
    if op == "contains":
        return pattern in text
    return text.startswith(pattern) if op == "starts_with" else text.endswith(pattern)


def _filter(value: Any, op: Operator, target: Any) -> bool:
    if op in ("in", "not_in"):
        values: Sequence[Any] = target if isinstance(target, list | tuple) else [target]
        if value is None:
            return False
        return (value in values) == (op == "in")
    if op in ("contains", "starts_with", "ends_with"):
        return _like(value, op, str(target))
    if target is None:
        return (value is None) == (op == "eq")
    if isinstance(target, bool) and op in ("eq", "ne"):
        wants_true = target if op == "eq" else not target
        return value is True if wants_true else value in (False, None)
    return value is not None and _COMPARE[op](value, target)


def _listed(value: Any, item: str, default: str | None) -> bool:
    stored = str(value or "").replace(" ", "")
    if stored == "" and default:
        stored = default
    return f",{item}," in f",{stored},"


def _order(found: list[Row], column: str, descending: bool) -> list[Row]:
    """By ``column`` (empty first, ascending), then by id ascending."""
    found = sorted(found, key=lambda r: r["id"])
    return sorted(found, key=lambda r: (0,) if r[column] is None else (1, r[column]), reverse=descending)


def search_users(users: list[Row], q: UserQuery) -> tuple[list[Row], int]:
    columns = set(users[0]) if users else set()

    def keep(row: Row) -> bool:
        if q.search_value:
            name = q.search_field or "email"
            if name in row and not _like(
                str(row[name]).lower() if row[name] is not None else None, q.search_operator, q.search_value.lower()
            ):
                return False
        for name, op, target in q.filters:
            if name in row and not _filter(row[name], op, target):
                return False
        return not (
            q.listed and q.listed.field in row and not _listed(row[q.listed.field], q.listed.item, q.listed.default)
        )

    found = [row for row in users if keep(row)]
    sort = q.sort_by if q.sort_by in columns else "createdAt"
    found = _order(found, sort or "createdAt", q.sort_direction == "desc")
    return found[q.offset : q.offset + q.limit], len(found)


def list_audit(events: list[Row], q: AuditQuery) -> tuple[list[Row], int]:
    def keep(row: Row) -> bool:
        if q.user_id and q.user_id not in (row["userId"], row["actorId"]):
            return False
        if q.events and row["event"] not in q.events:
            return False
        if q.since and row["createdAt"] < q.since:
            return False
        return not (q.until and row["createdAt"] >= q.until)

    found = _order([row for row in events if keep(row)], "createdAt", True)
    return found[q.offset : q.offset + q.limit], len(found)
