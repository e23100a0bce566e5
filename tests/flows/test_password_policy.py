"""Every way of choosing a password over HTTP (sign-up, change-password, reset) refuses the
breached and common shapes (``PASSWORD_TOO_COMMON``) and context words (``PASSWORD_TOO_SIMILAR``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.flows._helpers import PASSWORD, Browser, error_of
from tests.flows.test_password_reset import (
    mail_app,
    request_reset,
    reset_link,
    token_of,
)
from tests.smtp import SmtpServer

pytestmark = pytest.mark.anyio

EMAIL, NAME = "ann.smith@example.com", "Ann Smith"
REFUSED = [
    ("Dragon1234567890", "PASSWORD_TOO_COMMON"),
    ("iloveyou2024!", "PASSWORD_TOO_COMMON"),
    ("ann.smith2024", "PASSWORD_TOO_SIMILAR"),  # the email's local part
    ("Smith!!12345678", "PASSWORD_TOO_SIMILAR"),  # a word of the name
    ("Authkeeper-2024", "PASSWORD_TOO_SIMILAR"),  # the app name
]
ACCEPTED = "ann smith rides her bicycle"


@pytest.mark.parametrize("route", ["sign-up", "change-password", "reset-password"])
async def test_every_route_applies_the_lists(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser], route: str
) -> None:
    app = await mail_app(make_app, smtp)
    client = browser(app)
    choose: Callable[[str], Any]
    if route == "sign-up":

        def choose(password: str) -> Any:
            return client.post("/sign-up/email", {"email": EMAIL, "password": password, "name": NAME})
    elif route == "change-password":
        await client.sign_up(EMAIL, name=NAME)

        def choose(password: str) -> Any:
            return client.post("/change-password", {"currentPassword": PASSWORD, "newPassword": password})
    else:
        await client.sign_up(EMAIL, name=NAME)
        await request_reset(client, EMAIL)
        token = token_of(await reset_link(smtp, to=EMAIL))

        def choose(password: str) -> Any:
            return client.post("/reset-password", {"token": token, "newPassword": password})

    for password, code in REFUSED:
        error_of(await choose(password), 400, code)
    r: httpx.Response = await choose(ACCEPTED)
    assert r.status_code == 200, r.text
    await browser(app).sign_in(EMAIL, ACCEPTED)
