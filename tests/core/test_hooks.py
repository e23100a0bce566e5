"""Typed hooks: events after the commit, participants inside the transaction, services."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from authkeeper import Authkeeper
from authkeeper.core import hooks
from authkeeper.core.context import AuthContext
from authkeeper.core.ports import Store
from authkeeper.core.services import ACCESS_POLICY, MissingService, ServiceKey
from authkeeper.plugins import Plugin
from tests.conftest import fast_settings

pytestmark = pytest.mark.anyio


def recorder() -> tuple[list[hooks.Event], Plugin]:
    seen: list[hooks.Event] = []

    async def note(ctx: AuthContext, event: hooks.Event) -> None:
        # Delivered after the commit: the change is visible to a fresh read.
        if isinstance(event, hooks.UserCreated):
            assert await ctx.store.find_user_by_id(event.user_id) is not None
        seen.append(event)

    return seen, Plugin(id="recorder", subscribers=((hooks.Event, note),))


async def test_every_security_change_is_delivered_as_an_event(make_app: Any) -> None:
    seen, plugin = recorder()
    app = await make_app(plugins=[plugin])
    r = await app.sign_up()
    user_id = r.json()["user"]["id"]
    await app.sign_in()
    await app.post(
        "/change-password",
        {"currentPassword": "a fine passphrase", "newPassword": "another fine one", "revokeOtherSessions": True},
    )
    await app.post("/revoke-other-sessions")
    await app.post("/sign-out")
    kinds = [type(e).__name__ for e in seen]
    assert kinds == [
        "UserCreated",
        "SessionIssued",
        "SessionIssued",
        "PasswordChanged",
        "SessionIssued",
        "SessionsRevoked",
        "SignedOut",
    ], kinds
    assert all(e.user_id == user_id for e in seen)
    assert [e.method for e in seen if isinstance(e, hooks.SessionIssued)] == ["sign-up", "email", "password-change"]


async def test_a_failing_subscriber_is_logged_and_the_change_stands(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(_ctx: AuthContext, _event: hooks.UserCreated) -> None:
        raise RuntimeError("webhook down")

    seen, plugin = recorder()
    app = await make_app(plugins=[Plugin(id="broken", subscribers=((hooks.UserCreated, broken),)), plugin])
    with caplog.at_level(logging.ERROR, logger="authkeeper.hooks"):
        r = await app.sign_up()
    assert r.status_code == 200
    assert any(isinstance(e, hooks.UserCreated) for e in seen)  # the next subscriber still ran
    assert "broken" in caplog.text and "UserCreated" in caplog.text


async def test_a_participant_runs_in_the_transaction_and_its_failure_rolls_it_back(make_app: Any) -> None:
    calls: list[hooks.SessionsEnding] = []

    async def refuse(_ctx: AuthContext, _tx: Store, change: hooks.SessionsEnding) -> None:
        calls.append(change)
        raise RuntimeError("refused")

    app = await make_app(plugins=[Plugin(id="refuser", on_sessions_ending=(refuse,))])
    await app.sign_up()
    r = await app.post("/revoke-sessions")
    assert r.status_code == 500
    assert len(calls) == 1 and calls[0].kept is None
    # Nothing was revoked: the session still works.
    assert (await app.get("/get-session")).json()["user"]["email"] == "ann@example.com"


async def test_a_plugin_needing_a_service_nobody_provides_stops_construction(tmp_path: Any) -> None:
    settings = fast_settings(f"sqlite:///{tmp_path / 'a.db'}")
    needy = Plugin(id="needy", requires=(ServiceKey("TokenIssuer"),))
    with pytest.raises(MissingService, match="plugin 'needy' needs TokenIssuer"):
        Authkeeper(settings, plugins=[needy])
    with pytest.raises(ValueError, match="installed twice"):
        Authkeeper(settings, plugins=[needy, needy])


async def test_the_admin_plugin_provides_the_access_policy(tmp_path: Any) -> None:
    settings = fast_settings(f"sqlite:///{tmp_path / 'a.db'}")
    assert ACCESS_POLICY in Authkeeper(settings).ctx.services
    assert ACCESS_POLICY not in Authkeeper(settings, plugins=[]).ctx.services
