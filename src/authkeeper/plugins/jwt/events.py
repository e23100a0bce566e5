"""The jwt plugin's audit events (stable names: clients filter on them)."""

from __future__ import annotations

from enum import StrEnum


class JwtEvent(StrEnum):
    KEY_CREATED = "jwt-key-created"
    KEY_REVOKED = "jwt-key-revoked"
