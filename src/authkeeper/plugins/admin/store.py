"""The admin plugin's queries: on the core's ports (the user search, the audit log are core
listing capabilities) and on its own session column (:mod:`.schema`)."""

from __future__ import annotations

from ...core.ports import Sessions
from .schema import IMPERSONATED_BY


async def delete_impersonations(sessions: Sessions, impersonator_id: str) -> int:
    """End every impersonation session the user started."""
    return await sessions.delete_sessions_matching({IMPERSONATED_BY: impersonator_id})
