"""The ``/two-factor/*`` endpoints (spec §8.1), each a thin call into :mod:`.flows`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Literal

from pydantic import Field
from starlette.responses import Response

from ...core.models import Session
from ...http.api import user_json
from ...web.body import Body
from ...web.call import Call, Endpoint
from . import challenge, flows, otp
from .challenge import ChallengeGone
from .constants import TRUST_DEVICE_COOKIE, TWO_FACTOR_COOKIE
from .settings import TwoFactorSettings


class EnableBody(Body):
    password: str = Field(max_length=4096)
    method: Literal["totp", "otp"] = "totp"
    issuer: str | None = Field(default=None, max_length=255)


class PasswordBody(Body):
    password: str = Field(max_length=4096)


class VerifyCodeBody(Body):
    code: str = Field(max_length=64)
    trustDevice: bool | None = None


class SendOtpBody(Body):
    trustDevice: bool | None = None


class VerifyBackupCodeBody(Body):
    code: str = Field(max_length=64)
    disableSession: bool | None = None
    trustDevice: bool | None = None


Handler = Callable[[Call], Awaitable[Response]]


def _expire_spent_challenge(handler: Handler) -> Handler:
    """When the challenge is gone or spent, the ``two_factor`` cookie goes with the error."""

    @wraps(handler)
    async def wrapped(call: Call) -> Response:
        try:
            return await handler(call)
        except ChallengeGone:
            call.delete_cookie(TWO_FACTOR_COOKIE)
            raise

    return wrapped


def _remember(call: Call) -> bool:
    return not call.dont_remember()


async def _prover(call: Call) -> flows.Prover:
    """The signed-in user if there is a session, else the sign-in named by the cookie."""
    if call.resolved is not None:
        return flows.Prover(call.user, session=call.session)
    found = await challenge.load_challenge(call.ctx, call.request.cookies.get(call.cookies.name(TWO_FACTOR_COOKIE)))
    return flows.Prover(found.user, challenge=found)


def apply_pass(call: Call, prover: flows.Prover, passed: flows.Passed) -> None:
    """Cookies after a factor passed: the new session, the finished challenge's cookie gone,
    the trusted device remembered (the endpoints and the pages both)."""
    if passed.session is not None:
        call.set_session_cookie(passed.session.token, remember=passed.remember)
    if prover.challenge is not None:
        call.delete_cookie(TWO_FACTOR_COOKIE)
    if passed.trust_cookie is not None:
        max_age = call.ctx.settings.section(TwoFactorSettings).trust_device_max_age
        call.set_signed_cookie(TRUST_DEVICE_COOKIE, passed.trust_cookie, max_age)


def apply_disable(call: Call, session: Session, remember: bool) -> None:
    """Cookies after two-factor was turned off: the renewed session, and no trusted device."""
    call.set_session_cookie(session.token, remember=remember)
    if call.request.cookies.get(call.cookies.name(TRUST_DEVICE_COOKIE)):
        call.delete_cookie(TRUST_DEVICE_COOKIE)


def _answer(call: Call, prover: flows.Prover, passed: flows.Passed) -> Response:
    apply_pass(call, prover, passed)
    return call.json({"token": passed.token, "user": user_json(call, passed.user)})


# -- settings -------------------------------------------------------------------------------
async def enable(call: Call) -> Response:
    b: EnableBody = call.body
    done = await flows.enable(
        call.ctx,
        call.user,
        call.session,
        password=b.password,
        method=b.method,
        issuer=b.issuer,
        client=call.client,
        remember=_remember(call),
    )
    if done.session is not None:
        call.set_session_cookie(done.session.token, remember=_remember(call))
    if done.method == "otp":
        return call.json({"method": "otp"})
    return call.json({"method": "totp", "totpURI": done.totp_uri, "backupCodes": done.backup_codes})


async def disable(call: Call) -> Response:
    b: PasswordBody = call.body
    _, new = await flows.disable(
        call.ctx, call.user, call.session, password=b.password, client=call.client, remember=_remember(call)
    )
    apply_disable(call, new, _remember(call))
    return call.json({"status": True})


async def get_totp_uri(call: Call) -> Response:
    b: PasswordBody = call.body
    uri = await flows.totp_uri(call.ctx, call.user, call.session, password=b.password, client=call.client)
    return call.json({"totpURI": uri})


async def generate_backup_codes(call: Call) -> Response:
    b: PasswordBody = call.body
    codes = await flows.regenerate_backup_codes(
        call.ctx, call.user, call.session, password=b.password, client=call.client
    )
    return call.json({"status": True, "backupCodes": codes})


# -- factors --------------------------------------------------------------------------------
@_expire_spent_challenge
async def verify_totp(call: Call) -> Response:
    b: VerifyCodeBody = call.body
    prover = await _prover(call)
    passed = await flows.verify_totp(
        call.ctx, prover, b.code, client=call.client, trust=bool(b.trustDevice), remember=_remember(call)
    )
    return _answer(call, prover, passed)


@_expire_spent_challenge
async def send_otp(call: Call) -> Response:
    await otp.send_otp(call.ctx, await _prover(call))
    return call.json({"status": True})


@_expire_spent_challenge
async def verify_otp(call: Call) -> Response:
    b: VerifyCodeBody = call.body
    prover = await _prover(call)
    passed = await otp.verify_otp(
        call.ctx, prover, b.code, client=call.client, trust=bool(b.trustDevice), remember=_remember(call)
    )
    return _answer(call, prover, passed)


@_expire_spent_challenge
async def verify_backup_code(call: Call) -> Response:
    b: VerifyBackupCodeBody = call.body
    prover = await _prover(call)
    passed = await flows.verify_backup_code(
        call.ctx,
        prover,
        b.code,
        client=call.client,
        trust=bool(b.trustDevice),
        disable_session=bool(b.disableSession),
        remember=_remember(call),
    )
    return _answer(call, prover, passed)


# -- sign-out hook --------------------------------------------------------------------------
def endpoints() -> tuple[Endpoint, ...]:
    E = Endpoint
    return (
        E("POST", "/two-factor/enable", enable, EnableBody, auth="session"),
        E("POST", "/two-factor/disable", disable, PasswordBody, auth="session"),
        E("POST", "/two-factor/get-totp-uri", get_totp_uri, PasswordBody, auth="session"),
        E("POST", "/two-factor/generate-backup-codes", generate_backup_codes, PasswordBody, auth="session"),
        E("POST", "/two-factor/verify-totp", verify_totp, VerifyCodeBody, auth="optional", statuses=(401,)),
        E("POST", "/two-factor/send-otp", send_otp, SendOtpBody, auth="optional", statuses=(401,)),
        E("POST", "/two-factor/verify-otp", verify_otp, VerifyCodeBody, auth="optional", statuses=(401,)),
        E(
            "POST",
            "/two-factor/verify-backup-code",
            verify_backup_code,
            VerifyBackupCodeBody,
            auth="optional",
            statuses=(401,),
        ),
    )
