"""The admin commands of the CLI, run as a user runs them: real processes, JSON lines,
one-line errors."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

PASSWORD = "a fine passphrase\n"


def run(
    args: list[str], cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEPER_") and k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "authkeeper", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
        check=False,
    )


def ok(args: list[str], cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    r = run(args, cwd, stdin, env)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


def fails(args: list[str], cwd: Path, *words: str) -> str:
    r = run(args, cwd)
    assert r.returncode == 1, (args, r.stdout, r.stderr)
    assert r.stderr.strip().count("\n") == 0, r.stderr  # one line
    assert r.stderr.startswith("authkeeper: error: ")
    for word in words:
        assert word in r.stderr, (word, r.stderr)
    return r.stderr


def users(cwd: Path) -> dict[str, dict[str, object]]:
    return {u["email"]: u for u in json.loads(ok(["users", "list", "--json"], cwd))}


def audit(cwd: Path, *args: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in ok(["audit", *args], cwd).splitlines()]


def test_help_everywhere(tmp_path: Path) -> None:
    for args in (["users", "set-role"], ["users", "ban"], ["users", "unban"], ["audit"], ["audit", "prune"]):
        r = run([*args, "--help"], tmp_path)
        assert r.returncode == 0 and "usage:" in r.stdout, (args, r.stderr)


def test_roles_bans_and_the_audit_log(tmp_path: Path) -> None:
    ok(["migrate"], tmp_path)
    ok(["users", "create", "root@example.com", "--role", "admin"], tmp_path, PASSWORD)
    ok(["users", "create", "ann@example.com"], tmp_path, PASSWORD)
    everyone = users(tmp_path)
    assert everyone["root@example.com"]["role"] == "admin"
    assert everyone["ann@example.com"]["role"] == "user"
    ann_id = everyone["ann@example.com"]["id"]

    assert "moderator" in ok(["users", "set-role", "ANN@example.com", "moderator"], tmp_path)
    ok(["users", "set-role", "ann@example.com", "moderator,user"], tmp_path)
    assert users(tmp_path)["ann@example.com"]["role"] == "moderator,user"

    out = ok(["users", "ban", "ann@example.com", "--reason", "spam", "--expires-in", "3600"], tmp_path)
    assert "banned until" in out
    ann = users(tmp_path)["ann@example.com"]
    assert (ann["banned"], ann["banReason"]) == (True, "spam") and str(ann["banExpires"]).endswith("Z")
    ok(["users", "unban", "ann@example.com"], tmp_path)
    assert users(tmp_path)["ann@example.com"]["banned"] is False
    assert "until unbanned" in ok(["users", "ban", "ann@example.com"], tmp_path)
    assert users(tmp_path)["ann@example.com"]["banReason"] == "No reason"

    rows = audit(tmp_path, "--user", "ann@example.com")
    assert [r["event"] for r in rows][:5] == [
        "user-banned",
        "user-unbanned",
        "user-banned",
        "role-changed",
        "role-changed",
    ]
    assert all(r["userId"] == ann_id for r in rows)
    banned = rows[2]
    assert banned["actorId"] == "cli" and banned["details"]["reason"] == "spam"  # type: ignore[index]
    assert [r["event"] for r in audit(tmp_path, "--event", "user-banned")] == ["user-banned", "user-banned"]
    created = audit(tmp_path, "--event", "user-created")
    assert {r["actorId"] for r in created} == {"cli"} and ann_id in {r["userId"] for r in created}
    assert len(audit(tmp_path, "--event", "user-banned,user-unbanned", "--limit", "2")) == 2
    assert len(audit(tmp_path, "--event", "user-banned", "--event", "role-changed")) == 4
    assert audit(tmp_path, "--since", "2999-01-01T00:00:00Z") == []
    assert len(audit(tmp_path, "--user", str(ann_id), "--since", "2000-01-01")) == len(rows)

    assert "pruned 0 events older than 365 days" in ok(["audit", "prune"], tmp_path)
    assert "audit events past retention" in ok(["cleanup"], tmp_path)


def test_audit_prune_removes_old_events(tmp_path: Path) -> None:
    ok(["migrate"], tmp_path)
    ok(["users", "create", "ann@example.com"], tmp_path, PASSWORD)
    assert len(audit(tmp_path)) == 1
    # With a retention of 0 days nothing is ever pruned; of 1 day, today's events stay.
    assert "kept forever" in ok(["audit", "prune"], tmp_path, env={"AUTHKEEPER_AUDIT__RETENTION_DAYS": "0"})
    assert "pruned 0" in ok(["audit", "prune"], tmp_path, env={"AUTHKEEPER_AUDIT__RETENTION_DAYS": "1"})
    assert len(audit(tmp_path)) == 1
    ok(["users", "create", "bob@example.com"], tmp_path, PASSWORD)
    with sqlite3.connect(tmp_path / "authkeeper.db") as db:
        db.execute("""UPDATE "auditEvent" SET "createdAt" = '2001-01-01 00:00:00.000000' WHERE "userId" IN
                      (SELECT id FROM "user" WHERE email = 'ann@example.com')""")
    assert "pruned 1 events older than 365 days" in ok(["audit", "prune"], tmp_path)
    assert [e["event"] for e in audit(tmp_path)] == ["user-created"]
    assert audit(tmp_path, "--user", "ann@example.com") == []


def test_errors_are_one_line(tmp_path: Path) -> None:
    ok(["migrate"], tmp_path)
    ok(["users", "create", "ann@example.com"], tmp_path, PASSWORD)
    fails(["users", "set-role", "ann@example.com", "emperor"], tmp_path, "unknown role 'emperor'", "moderator")
    fails(
        ["users", "create", "bob@example.com", "--role", "emperor", "--password", "a fine passphrase"],
        tmp_path,
        "unknown role",
    )
    fails(["users", "set-role", "nobody@example.com", "admin"], tmp_path, "no user with email")
    fails(["users", "ban", "nobody@example.com"], tmp_path, "no user with email")
    fails(["users", "ban", "ann@example.com", "--expires-in", "-3"], tmp_path, "--expires-in")
    fails(["users", "unban", "nobody@example.com"], tmp_path, "no user with email")
    fails(["audit", "--event", "user-exploded"], tmp_path, "unknown event")
    fails(["audit", "--since", "last tuesday"], tmp_path, "--since")
    fails(["audit", "--user", "nobody@example.com"], tmp_path, "no user with email")
    fails(["audit", "--limit", "0"], tmp_path, "--limit")


def test_commands_on_an_unmigrated_database_fail_in_one_line(tmp_path: Path) -> None:
    fails(["users", "ban", "ann@example.com"], tmp_path, "database", "migrate")
    fails(["audit"], tmp_path, "database")


def test_the_operator_manages_admins(tmp_path: Path) -> None:
    ok(["migrate"], tmp_path)
    ok(["users", "create", "one@example.com", "--role", "admin", "--verified"], tmp_path, PASSWORD)
    ok(["users", "create", "two@example.com", "--role", "admin"], tmp_path, PASSWORD)
    # The admins are equals (neither may act on the other); the operator is above both.
    ok(["users", "ban", "two@example.com", "--reason", "left"], tmp_path)
    assert users(tmp_path)["two@example.com"]["banned"] is True
    ok(["users", "unban", "two@example.com"], tmp_path)
    ok(["users", "set-role", "two@example.com", "user"], tmp_path)
    ok(["users", "set-role", "one@example.com", "moderator"], tmp_path)
    everyone = users(tmp_path)
    assert (everyone["one@example.com"]["role"], everyone["two@example.com"]["role"]) == ("moderator", "user")
    assert everyone["one@example.com"]["emailVerified"] is True
