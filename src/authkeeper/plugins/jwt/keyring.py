"""Which key signs, which keys are published, and rotation that makes exactly one key.

The rules, with ``delay`` = ``jwks_max_age`` (how long a verifier may keep the JWKS):

- A key of the configured algorithm that has not expired is a **candidate**. The signer is the
  newest candidate published for at least ``delay`` (so every verifier's cached JWKS has it),
  else the candidate published longest (a first key, or one that replaced a retired key at once).
- A **successor** is made when there is no candidate, when the newest one expires within
  ``delay`` (so it is published ``delay`` before it signs: tokens signed during a rotation
  verify everywhere), or when its private key cannot be opened (the secret changed without
  ``previous_secrets``). A key with no stored expiry (Better Auth's, without rotation) counts
  as expiring ``rotation_interval`` after it was made.
- The JWKS lists every key until ``max_expires_in`` (the longest lifetime a token may be given)
  + ``grace_period`` after it stopped signing: the tokens it signed verify to the end of their
  lifetime and beyond any cache.
- **Exactly one successor.** The need is decided again on fresh rows, one rotation at a time per
  process; the new row names the key it replaces (``successorOf``, unique, see
  :meth:`KeyRing._replaced`), so of the workers that rotate at once one insert wins and the
  others read the winner's key.

The rows are read at most every few seconds per process, not per token.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ...core import audit
from ...core.context import AuthContext
from ...core.ports import DuplicateError
from . import keys
from .events import JwtEvent
from .keys import KeyRecord, UnreadableKey
from .schema import TABLE
from .settings import ALGORITHMS, JwtSettings

log = logging.getLogger("authkeeper.jwt")

RELOAD_EVERY = 10.0
"""Seconds a process keeps the rows it read (another worker's rotation shows within this)."""
UNKNOWN_KID_RELOAD = 5.0
"""Seconds between reloads caused by a token naming a key this process does not know."""


def _newest(found: Sequence[KeyRecord]) -> KeyRecord | None:
    return max(found, key=lambda k: (k.created_at, k.id), default=None)


class KeyRing:
    """The keys of one app, shared by its requests."""

    def __init__(self, ctx: AuthContext) -> None:
        self.ctx = ctx
        self._rows: list[KeyRecord] = []
        self._loaded_at: float | None = None
        self._unknown_reload_at = 0.0
        self._lock = asyncio.Lock()
        self._rotating = asyncio.Lock()
        self._private: dict[str, Any] = {}
        self._public: dict[str, Any] = {}
        self._unreadable: set[str] = set()
        self._decision: tuple[list[KeyRecord], datetime, KeyRecord, Any] | None = None
        """The last choice of signer: for these rows, until this instant (see :meth:`_stable_until`)."""
        self.settings: JwtSettings = ctx.settings.section(JwtSettings)
        """Read once: the settings of a context never change."""

    # -- reading ---------------------------------------------------------------------------
    async def rows(self, *, fresh: bool = False) -> list[KeyRecord]:
        if fresh or self._loaded_at is None or time.monotonic() - self._loaded_at > RELOAD_EVERY:
            async with self._lock:
                if fresh or self._loaded_at is None or time.monotonic() - self._loaded_at > RELOAD_EVERY:
                    await self._load()
        return self._rows

    async def _load(self) -> None:
        self._rows = [keys.record_of(r) for r in await self.ctx.store.select(TABLE)]
        self._loaded_at = time.monotonic()

    def _expiry(self, key: KeyRecord) -> datetime | None:
        """When ``key`` stops signing: its stored expiry, else ``rotation_interval`` after it
        was made (None: never)."""
        if key.expires_at is not None:
            return key.expires_at
        interval = self.settings.rotation_interval
        return key.created_at + timedelta(seconds=interval) if interval else None

    def _candidates(self, rows: Sequence[KeyRecord], now: datetime) -> list[KeyRecord]:
        cfg = self.settings
        return [
            k
            for k in rows
            if k.algorithm(cfg.algorithm) == cfg.algorithm
            and k.id not in self._unreadable
            and ((end := self._expiry(k)) is None or end > now)
            and self.public_key(k) is not None  # a key nobody could verify never signs
        ]

    def _signer(self, rows: Sequence[KeyRecord], now: datetime) -> KeyRecord | None:
        candidates = self._candidates(rows, now)
        published = now - timedelta(seconds=self.settings.jwks_max_age)
        ready = [k for k in candidates if k.created_at <= published]
        if ready:
            return _newest(ready)
        # None published long enough: the one published longest (the most verifiers have it).
        return min(candidates, key=lambda k: (k.created_at, k.id), default=None)

    def _needs_successor(self, rows: Sequence[KeyRecord], now: datetime) -> bool:
        newest = _newest(self._candidates(rows, now))
        if newest is None:
            return True
        end = self._expiry(newest)
        return end is not None and end - now <= timedelta(seconds=self.settings.jwks_max_age)

    def _replaced(self, rows: Sequence[KeyRecord], now: datetime) -> str:
        """The key a new key succeeds: the newest candidate that has no successor yet, else the
        newest key that has none (the end of the chain), else "" (a first key). Every worker
        that sees the same rows names the same key, and the unique ``successorOf`` lets one of
        them insert; a worker whose rows are older names a key that has a successor already,
        and loses too."""
        succeeded = {k.successor_of for k in rows if k.successor_of}
        newest = _newest(self._candidates(rows, now))
        if newest is not None and newest.id not in succeeded:
            return newest.id
        end = _newest([k for k in rows if k.id not in succeeded])
        return end.id if end is not None else ""

    def published(self, rows: Sequence[KeyRecord], now: datetime) -> list[KeyRecord]:
        """The keys the JWKS lists, newest first: until ``expires_in`` + ``grace_period`` after
        they stopped signing (a key with no stored expiry: ``rotation_interval`` after it was
        made, as for signing; with rotation off, for ever)."""
        cfg = self.settings
        keep = timedelta(seconds=max(cfg.expires_in, cfg.max_expires_in) + cfg.grace_period)
        found = [k for k in rows if (end := self._expiry(k)) is None or now < end + keep]
        return sorted(found, key=lambda k: (k.created_at, k.id), reverse=True)

    # -- signing ---------------------------------------------------------------------------
    async def signing_key(self) -> tuple[KeyRecord, Any]:
        """The signer and its private key, rotating first when a successor is due. A key that
        no configured secret opens is passed over (logged once) and, when no other can sign,
        replaced."""
        rows = await self.rows()
        decided = self._decision
        if decided is not None and decided[0] is rows and self.ctx.now() < decided[1]:
            return decided[2], decided[3]  # nothing can have changed: most tokens end here
        for _ in range(len(rows) + 3):
            now = self.ctx.now()
            if self._needs_successor(rows, now):
                rows = await self._rotate_if_due()
            signer = self._signer(rows, now)
            if signer is None:
                rows = await self.rows(fresh=True)
                continue
            try:
                key = self.private_key(signer)
            except UnreadableKey as exc:
                log.error("jwt: %s; it signs no more", exc)
                self._unreadable.add(signer.id)
                continue
            self._decision = (rows, self._stable_until(rows, now), signer, key)
            return signer, key
        raise RuntimeError("jwt: no usable signing key could be made")

    def _stable_until(self, rows: Sequence[KeyRecord], now: datetime) -> datetime:
        """The first instant after ``now`` at which the choice of signer could change for these
        rows: a candidate becomes ready, comes within ``jwks_max_age`` of its end (a successor is
        due), or ends. (New rows are a reload, which the decision is tied to.)"""
        delay = timedelta(seconds=self.settings.jwks_max_age)
        moments = []
        for key in self._candidates(rows, now):
            moments.append(key.created_at + delay)
            end = self._expiry(key)
            if end is not None:
                moments += [end - delay, end]
        return min((m for m in moments if m > now), default=datetime.max.replace(tzinfo=now.tzinfo))

    async def _rotate_if_due(self) -> list[KeyRecord]:
        """A scheduled rotation: decided again on fresh rows, one at a time in this process (a
        burst of requests makes one key), one winner across processes (``successorOf``)."""
        async with self._rotating:
            rows = await self.rows(fresh=True)
            now = self.ctx.now()
            if self._needs_successor(rows, now):
                await self._insert_successor(rows, now, reason="scheduled" if rows else "first")
                rows = await self.rows(fresh=True)
            return rows

    def private_key(self, record: KeyRecord) -> Any:
        found = self._private.get(record.id)
        if found is None:
            found = keys.private_key(record, self.ctx.secrets, self.settings.algorithm)
            self._private[record.id] = found
        return found

    async def rotate(self, *, reason: str = "operator", retire_now: bool = False) -> tuple[KeyRecord, bool]:
        """An operator's rotation (``authkeeper keys rotate``): a successor of the signer, which
        takes over once published for ``jwks_max_age``; returns it and whether this call made
        it. When a successor already waits to take over (a concurrent rotation's, or a scheduled
        one), it is returned and no other is made. ``retire_now`` ends the older keys at once, so
        the successor signs immediately."""
        async with self._rotating:
            rows = await self.rows(fresh=True)
            now = self.ctx.now()
            signer = self._signer(rows, now)
            waiting = [k for k in self._candidates(rows, now) if signer is None or k.created_at > signer.created_at]
            record, made = (_newest(waiting), False) if waiting else await self._insert_successor(rows, now, reason)
            assert record is not None
            if retire_now:
                older = [k for k in self._candidates(rows, now) if k.id != record.id]
                async with self.ctx.store.transaction() as tx:
                    for key in older:
                        await tx.update(TABLE, {"id": key.id}, {"expiresAt": now})
                await self.rows(fresh=True)
            return record, made

    async def _insert_successor(self, rows: Sequence[KeyRecord], now: datetime, reason: str) -> tuple[KeyRecord, bool]:
        cfg = self.settings
        replaced = self._replaced(rows, now)
        expires = now + timedelta(seconds=cfg.rotation_interval) if cfg.rotation_interval else None
        record = await asyncio.to_thread(
            keys.new_key,
            cfg.algorithm,
            secret=self.ctx.settings.secret,
            encrypt=cfg.encrypt_private_keys,
            now=now,
            expires_at=expires,
            successor_of=replaced,
        )
        try:
            await self.ctx.store.insert(TABLE, keys.row_of(record))
        except DuplicateError:
            fresh = await self.rows(fresh=True)
            winner = next((k for k in fresh if k.successor_of == replaced), None)
            if winner is None:  # the row that beat ours is gone again: an operator removed it
                raise RuntimeError("jwt: a concurrent rotation's key disappeared") from None
            return winner, False
        await self.rows(fresh=True)
        log.info("jwt: made key %s (%s, %s)", record.id, record.alg, reason)
        await self._audit(record, reason)
        return record, True

    async def _audit(self, record: KeyRecord, reason: str) -> None:
        await audit.record(
            self.ctx.store, JwtEvent.KEY_CREATED, user_id=None, kid=record.id, alg=record.alg, reason=reason
        )

    # -- verifying -------------------------------------------------------------------------
    async def verification_key(self, kid: str) -> tuple[KeyRecord, Any] | None:
        """The published key named ``kid`` and its public key, or None. An unknown ``kid``
        reloads the rows at most every few seconds, so forged ids cannot flood the database."""
        rows = await self.rows()
        now = self.ctx.now()
        found = next((k for k in self.published(rows, now) if k.id == kid), None)
        if found is None and time.monotonic() - self._unknown_reload_at > UNKNOWN_KID_RELOAD:
            self._unknown_reload_at = time.monotonic()
            rows = await self.rows(fresh=True)
            found = next((k for k in self.published(rows, now) if k.id == kid), None)
        if found is None:
            return None
        public = self.public_key(found)
        return (found, public) if public is not None else None

    def public_key(self, record: KeyRecord) -> Any | None:
        """The key's public half, loaded once; None when it is no valid key of a known
        algorithm (it is then neither published nor trusted)."""
        if record.id in self._public:
            return self._public[record.id]
        public = None
        if record.algorithm(self.settings.algorithm) in ALGORITHMS:
            try:
                public = keys.public_key(record, self.settings.algorithm)
            except UnreadableKey as exc:
                log.error("jwt: %s; it is left out of the JWKS", exc)
        self._public[record.id] = public
        return public

    def jwks(self, rows: Sequence[KeyRecord], now: datetime) -> list[dict[str, Any]]:
        """The JWKS entries of the published keys that load, newest first."""
        entries = []
        for record in self.published(rows, now):
            if self.public_key(record) is None:
                continue
            try:
                entries.append(record.public_jwk(self.settings.algorithm))
            except UnreadableKey as exc:
                log.error("jwt: %s; it is left out of the JWKS", exc)
        return entries

    async def remove(self, kid: str) -> bool:
        """Delete a key (``authkeeper keys revoke``): the JWKS drops it at once and the tokens
        it signed stop verifying here; other services stop once their cached JWKS expires."""
        removed = await self.ctx.store.delete(TABLE, {"id": kid})
        self._private.pop(kid, None)
        self._public.pop(kid, None)
        await self.rows(fresh=True)
        return removed > 0

    def describe(self, rows: Sequence[KeyRecord], now: datetime) -> list[dict[str, Any]]:
        """One line per key for ``authkeeper keys list``: its state now."""
        signer = self._signer(rows, now)
        listed = {k.id for k in self.published(rows, now)}
        out = []
        for key in sorted(rows, key=lambda k: (k.created_at, k.id), reverse=True):
            end = self._expiry(key)
            if signer is not None and key.id == signer.id:
                state = "signing"
            elif end is None or end > now:
                state = "next" if signer is None or key.created_at > signer.created_at else "standby"
            else:
                state = "retired" if key.id in listed else "expired"
            out.append({**dataclasses.asdict(key), "state": state, "private_key": None, "public_key": None})
        return out
