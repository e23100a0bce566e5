"""The role model on its own: parsing, the default roles, several roles, admin lists."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from authkeeper.core.models import User
from authkeeper.plugins.admin import AccessControl, Actor, AdminSettings, parse_roles
from authkeeper.plugins.admin.access import STATEMENTS


def user(role: object = "user", email: str = "ann@example.com", user_id: str = "u1") -> User:
    now = datetime.now(UTC)
    return User(
        id=user_id,
        name="A",
        email=email,
        email_verified=True,
        image=None,
        created_at=now,
        updated_at=now,
        extra={"role": role},
    )


def test_parse_roles() -> None:
    assert parse_roles("admin") == ("admin",)
    assert parse_roles(" admin , moderator,,admin ") == ("admin", "moderator")
    assert parse_roles("") == () and parse_roles(None) == () and parse_roles(["admin"]) == ()


def test_default_roles() -> None:
    ac = AccessControl(AdminSettings())
    everything_but = {a for a in STATEMENTS["user"] if a != "impersonate-admins"}
    assert ac.allows(
        ["admin"], {"user": sorted(everything_but), "session": ["list", "revoke", "delete"], "audit": ["list"]}
    )
    assert not ac.allows(["admin"], {"user": ["impersonate-admins"]})
    assert ac.allows(["moderator"], {"user": ["list", "ban", "get"], "session": ["list", "revoke"], "audit": ["list"]})
    for action in ("create", "set-role", "impersonate", "delete", "set-password", "update"):
        assert not ac.allows(["moderator"], {"user": [action]}), action
    assert not ac.allows(["moderator"], {"session": ["delete"]})
    for resource, actions in STATEMENTS.items():
        for action in actions:
            assert not ac.allows(["user"], {resource: [action]})
    assert not ac.allows(["ghost"], {"user": ["list"]})
    assert not ac.allows(["admin"], {}) and not ac.allows(["admin"], {"user": []})


def test_one_role_must_allow_everything_asked() -> None:
    roles: dict[str, dict[str, tuple[str, ...]]] = {**AdminSettings().roles, "editor": {"user": ("update",)}}
    ac = AccessControl(dataclasses.replace(AdminSettings(), roles=roles))
    both = ac.roles_of(user("moderator,editor"))
    assert ac.allows(both, {"user": ["ban"]}) and ac.allows(both, {"user": ["update"]})
    # As Better Auth: roles are not merged for one check.
    assert not ac.allows(both, {"user": ["ban", "update"]})


def test_empty_role_is_the_default_role() -> None:
    ac = AccessControl(dataclasses.replace(AdminSettings(), default_role="moderator"))
    assert ac.roles_of(user(None)) == ("moderator",)
    assert ac.roles_of(user("")) == ("moderator",)
    assert ac.roles_of(user("user")) == ("user",)


def test_admin_lists() -> None:
    ac = AccessControl(dataclasses.replace(AdminSettings(), admin_emails=("Boss@Example.COM",), admin_user_ids=("u9",)))
    assert ac.roles_of(user("user", email="boss@example.com")) == ("user", "admin")
    assert ac.roles_of(user("user", user_id="u9")) == ("user", "admin")
    assert ac.roles_of(user("admin", user_id="u9")) == ("admin",)
    assert ac.roles_of(user("user")) == ("user",)


def test_rank_rules() -> None:
    ac = AccessControl(AdminSettings())
    mod = Actor.of(ac, user("moderator", user_id="m"))
    assert mod.may_grant(["user"]) and mod.may_grant(["moderator"])
    assert not mod.may_grant(["admin"]) and not mod.may_grant(["user", "admin"])
    assert mod.may_manage(user("user")) and not mod.may_manage(user("moderator"))  # an equal: no
    assert not mod.may_manage(user("admin"))
    admin = Actor.of(ac, user("admin", user_id="a"))
    assert admin.may_grant(["admin"]) and not admin.may_manage(user("admin"))
    cli = Actor.operator(ac)
    assert cli.is_admin and cli.can({"user": ["impersonate-admins"]}) and cli.id == "cli"


def test_strict_ranks() -> None:
    roles: dict[str, dict[str, tuple[str, ...]]] = {
        **AdminSettings().roles,
        "superadmin": {
            **AdminSettings().roles["admin"],
            "user": (*AdminSettings().roles["admin"]["user"], "impersonate-admins"),
        },
        "empty": {"user": ()},
    }
    ac = AccessControl(dataclasses.replace(AdminSettings(), roles=roles, admin_user_ids=("root",)))
    admin, other_admin = Actor.of(ac, user("admin", user_id="a")), user("admin", user_id="b")
    # Equal grants are not enough, whichever roles carry them.
    assert not admin.may_manage(other_admin) and not admin.may_manage(user("admin,moderator", user_id="c"))
    assert admin.may_manage(user("moderator")) and admin.may_manage(user("user")) and admin.may_manage(user("empty"))
    assert admin.may_manage(user("admin", user_id="a"))  # oneself
    assert not admin.may_manage(user("superadmin")) and not admin.may_manage(user("user", user_id="root"))
    assert ac.outranks(["superadmin"], ["admin"]) and not ac.outranks(["admin"], ["admin", "user", "empty"])
    # Granting: only what one's own grants cover; an admin still makes admins.
    assert admin.may_grant(["admin"]) and admin.may_grant(["moderator", "user"])
    assert not admin.may_grant(["superadmin"]) and not admin.may_grant(["user", "superadmin"])
    # Exempt callers: the operator and the users in admin_user_ids.
    root = Actor.of(ac, user("admin", user_id="root"))
    for exempt in (root, Actor.operator(ac)):
        assert exempt.may_manage(other_admin) and exempt.may_manage(user("superadmin"))
        assert exempt.may_grant(["superadmin"])
    # impersonate-admins: an equal or an admin, never above, never a user in admin_user_ids.
    sup = Actor.of(ac, user("superadmin", user_id="s"))
    assert sup.may_impersonate(other_admin) and sup.may_impersonate(user("superadmin", user_id="t"))
    assert not sup.may_impersonate(user("admin", user_id="root"))
    assert not admin.may_impersonate(other_admin)
