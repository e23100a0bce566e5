"""An admin choosing a password (set-user-password, create-user) meets the same lists as the user:
``PASSWORD_TOO_COMMON`` and ``PASSWORD_TOO_SIMILAR`` (the target's email, name, the app name)."""

from __future__ import annotations

import pytest

from tests.plugins.admin.helpers import World

pytestmark = pytest.mark.anyio

REFUSED = [
    ("Qwertyuiop12345", "PASSWORD_TOO_COMMON"),
    ("iloveyou2024!", "PASSWORD_TOO_COMMON"),
    ("Thornbury-1985!", "PASSWORD_TOO_SIMILAR"),  # the target's name
    ("authkeeper!2024", "PASSWORD_TOO_SIMILAR"),  # the app name
]
ACCEPTED = "a thornbury garden in late spring"


async def test_set_user_password_applies_the_lists(world: World) -> None:
    target = await world.make_user("margaret.t@example.com", name="Margaret Thornbury")
    for password, code in [*REFUSED, ("margaret.t2024", "PASSWORD_TOO_SIMILAR")]:
        r = await world.admin.post("/admin/set-user-password", {"userId": target.id, "newPassword": password})
        assert (r.status_code, r.json()["code"]) == (400, code), password
    r = await world.admin.post("/admin/set-user-password", {"userId": target.id, "newPassword": ACCEPTED})
    assert r.json() == {"status": True}
    await world.sign_in("margaret.t@example.com", ACCEPTED)


async def test_create_user_applies_the_lists(world: World) -> None:
    user = {"email": "margaret.t@example.com", "name": "Margaret Thornbury"}
    for password, code in REFUSED:
        r = await world.admin.post("/admin/create-user", {**user, "password": password})
        assert (r.status_code, r.json()["code"]) == (400, code), password
    assert await world.ctx.store.find_user_by_email("margaret.t@example.com") is None
    r = await world.admin.post("/admin/create-user", {**user, "password": ACCEPTED})
    assert r.status_code == 200, r.text
    await world.sign_in("margaret.t@example.com", ACCEPTED)
