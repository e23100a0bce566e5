"""The pages of plugins: each installed plugin adds its routes, templates, header links,
banners, account-page sections and page texts; without it, none of them is there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from authkeeper.plugins.admin import AdminSettings
from authkeeper.plugins.two_factor import TwoFactorSettings
from tests.pages.greeter import greeter
from tests.pages.helpers import (
    Visitor,
    field_error,
    input_tag,
    make_user,
    notice,
    title,
)

pytestmark = pytest.mark.anyio


async def test_a_plugin_outside_the_package_brings_its_pages(make_app: Callable[..., Any]) -> None:
    app = await make_app(plugins=[greeter()])
    await make_user(app, "ann@example.com", name="Ann")
    v = Visitor(app)
    await v.sign_in()
    r = await v.get("/greet")
    assert r.status_code == 200 and title(r.text).startswith("Greet")
    assert '<a href="/greet" aria-current="page">Greet</a>' in r.text  # its header link
    assert '<div class="greeter-banner">The greeter is installed.</div>' in r.text  # its banner
    r = await v.submit("/greet", "/greet", {"name": "nobody"})
    assert r.status_code == 400
    assert field_error(r.text, "name") == "The greeter does not greet nobody."  # its error text
    assert 'value="nobody"' in input_tag(r.text, "name")
    r = await v.submit("/greet", "/greet", {"name": "Bob"})
    assert r.status_code == 303 and r.headers["location"] == "/greet?notice=greeted"
    assert notice((await v.get(r.headers["location"])).text) == "Hello from the greeter."  # its notice
    security = (await v.get("/account/security")).text
    assert '<section class="card" id="greeter-card"><h2>Greetings, Ann</h2></section>' in security
    assert security.index("password-title") < security.index("greeter-card") < security.index("delete-title")
    await v.close()


async def test_a_header_link_is_the_plugins_to_give(make_app: Callable[..., Any]) -> None:
    app = await make_app(plugins=[greeter()])
    await make_user(app, "shy@example.com", name="Shy")
    v = Visitor(app)
    await v.sign_in("shy@example.com")
    page = (await v.get("/account")).text
    assert 'href="/greet"' not in page and 'href="/admin"' not in page
    await v.close()


async def test_without_the_plugins_their_pages_are_not_there(make_app: Callable[..., Any]) -> None:
    app = await make_app(admin=AdminSettings(enabled=False), two_factor=TwoFactorSettings(enabled=False))
    await make_user(app, "ann@example.com", name="Ann")
    v = Visitor(app)
    await v.sign_in()
    for path in ("/admin", "/admin/audit", "/two-factor"):
        r = await v.get(path)
        assert r.status_code == 404 and title(r.text).startswith("Page not found"), path
    r = await v.submit("/account/security", "/account/two-factor/enable", {"tf_password": "x", "method": "totp"})
    assert r.status_code == 404
    for path in ("/account", "/account/security"):
        page = (await v.get(path)).text
        assert "Two-factor authentication" not in page and "Backup codes" not in page, path
        assert 'href="/admin"' not in page, path
    await v.close()
