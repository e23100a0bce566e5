"""``authkeeper keys list|rotate|revoke`` as an operator runs them, on a real database: the CLI's
``main`` with the operator's environment (a real process for the error path and two for the
rotations at once, which must make one key), one-line errors, nothing of the key material."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from authkeeper.cli import main
from authkeeper.plugins.jwt import JwtSettings
from authkeeper.plugins.jwt import keyring as keyring_module
from tests.conftest import SECRET, TestApp

from .helpers import get_token, header_of, jwks, service, session_token

ENABLED = {"AUTHKEEPER_JWT__ENABLED": "true"}


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEPER_") and k != "DATABASE_URL"}
    return {**base, "DATABASE_URL": f"sqlite:///{tmp / 'auth.db'}", "AUTHKEEPER_SECRET": SECRET, **extra}


def run(args: list[str], tmp: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "authkeeper", *args],
        cwd=tmp,
        env=env_for(tmp, **extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class Cli:
    """The CLI's ``main`` in this process (a process each costs a second of start-up), with
    the environment an operator would have."""

    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.tmp = tmp
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def __call__(self, args: list[str], **extra: str) -> tuple[int, str, str]:
        with self.monkeypatch.context() as mp:
            for name in [k for k in os.environ if k.startswith("AUTHKEEPER_") or k == "DATABASE_URL"]:
                mp.delenv(name)
            for name, value in env_for(self.tmp, **extra).items():
                mp.setenv(name, value)
            mp.chdir(self.tmp)
            self.capsys.readouterr()
            code = main(args)
            out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, args: list[str]) -> str:
        code, out, err = self(args, **ENABLED)
        assert code == 0, (args, out, err)
        return out

    def fails(self, args: list[str], *words: str, **extra: str) -> str:
        code, out, err = self(args, **extra)
        assert code == 1, (args, out, err)
        assert err.startswith("authkeeper: error: ") and err.strip().count("\n") == 0, err
        for word in words:
            assert word in err, (word, err)
        return err

    def listed(self) -> dict[str, dict[str, Any]]:
        lines = self.ok(["keys", "list", "--json"]).splitlines()
        return {k["id"]: k for k in (json.loads(line) for line in lines)}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path, monkeypatch, capsys)


def made_kid(stdout: str) -> str:
    assert stdout.startswith("made key "), stdout
    return stdout.split()[2]


def test_the_plugin_off_is_one_line(tmp_path: Path, cli: Cli) -> None:
    # As a real process once: the message, the exit status, stderr only.
    r = run(["keys", "rotate"], tmp_path)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.startswith("authkeeper: error: the jwt plugin is off") and r.stderr.count("\n") == 1
    assert "AUTHKEEPER_JWT__ENABLED=true" in r.stderr
    for args in (["keys", "list"], ["keys", "list", "--json"], ["keys", "revoke", "abc"]):
        cli.fails(args, "the jwt plugin is off")
    cli.fails(["keys", "list"], "the jwt plugin is off", AUTHKEEPER_JWT__ENABLED="false")
    assert not (tmp_path / "auth.db").exists() or "jwks" not in (tmp_path / "auth.db").read_bytes().decode("latin-1")


def test_list_rotate_revoke(cli: Cli) -> None:
    assert "no keys yet" in cli.ok(["keys", "list"])
    assert cli.ok(["keys", "list", "--json"]) == ""
    first = made_kid(cli.ok(["keys", "rotate"]))
    keys = cli.listed()
    assert list(keys) == [first]
    entry = keys[first]
    assert entry["state"] == "signing" and entry["alg"] == "EdDSA" and entry["successor_of"] == ""
    # Nothing of the key material, public or private, is printed.
    assert set(entry) <= {"id", "alg", "crv", "state", "created_at", "expires_at", "successor_of"}, entry
    out = cli.ok(["keys", "list"])
    assert first in out and "signing" in out and '"d"' not in out and "privateKey" not in out
    # A plain rotation publishes the next key; the first still signs.
    out = cli.ok(["keys", "rotate"])
    second = made_kid(out)
    assert "published now" in out and "300 s" in out
    keys = cli.listed()
    assert (keys[first]["state"], keys[second]["state"], keys[second]["successor_of"]) == ("signing", "next", first)
    # Another plain rotation while the second waits makes no third key.
    out = cli.ok(["keys", "rotate"])
    assert out.startswith(f"key {second} ") and "waits to take over" in out and "no other key was made" in out, out
    assert set(cli.listed()) == {first, second}
    # --now: the waiting key signs at once, the first is retired (still published for its tokens).
    out = cli.ok(["keys", "rotate", "--now"])
    assert out.startswith(f"key {second} ") and "signs now" in out and "no other key was made" in out, out
    keys = cli.listed()
    assert (keys[second]["state"], keys[first]["state"]) == ("signing", "retired")
    # --now with nothing waiting: a new key, signing at once; the second is retired.
    out = cli.ok(["keys", "rotate", "--now"])
    third = made_kid(out)
    assert "it signs now" in out
    keys = cli.listed()
    assert keys[third]["state"] == "signing"
    assert keys[first]["state"] == keys[second]["state"] == "retired"
    # Revoke: gone from the list (and so from the JWKS), audited; twice is an error.
    out = cli.ok(["keys", "revoke", second])
    assert out.startswith(f"removed key {second}")
    assert second not in cli.listed()
    cli.fails(["keys", "revoke", second], f"no key {second!r}", **ENABLED)
    cli.fails(["keys", "revoke", "' OR 1=1 --"], "no key", **ENABLED)
    events = [json.loads(line) for line in cli.ok(["audit", "--event", "jwt-key-revoked"]).splitlines()]
    assert [(e["details"]["kid"], e["actorId"]) for e in events] == [(second, "cli")], events
    created = [json.loads(line) for line in cli.ok(["audit", "--event", "jwt-key-created"]).splitlines()]
    assert {e["details"]["kid"] for e in created} == {first, second, third}
    assert {e["details"]["reason"] for e in created} == {"operator"}


def test_keys_made_with_another_secret_list_without_their_material(cli: Cli) -> None:
    made_kid(cli.ok(["keys", "rotate"]))
    code, out, err = cli(["keys", "list", "--json"], AUTHKEEPER_SECRET="x" * 48, **ENABLED)
    assert code == 0, err
    assert SECRET not in out + err and "x" * 48 not in out + err and '"d"' not in out


# A process that waits, between reading the rows and inserting its key, until the other one
# has read them too: two rotations truly at once (process start-up alone is too uneven).
SHIM = """
import os, pathlib, sys, time
from authkeeper.plugins.jwt import keys
barrier = pathlib.Path(os.environ["BARRIER"])
real = keys.new_key
def new_key(*args, **kw):
    (barrier / str(os.getpid())).touch()
    deadline = time.monotonic() + 8  # a rotation that serialises the processes itself: go on
    while len(list(barrier.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    return real(*args, **kw)
keys.new_key = new_key
from authkeeper.cli import main
sys.exit(main(["keys", "rotate"]))
"""


def test_two_rotations_at_once_make_one_key(tmp_path: Path, cli: Cli) -> None:
    """The first deployment's two operators (or two deploy jobs) at once; the same with a key
    there already is covered at the keyring level (test_keys: the barrier test)."""
    cli.ok(["migrate"])
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SHIM],
            cwd=tmp_path,
            env=env_for(tmp_path, BARRIER=str(barrier), **ENABLED),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    stdout = sorted(out for out, _ in outs)
    made = [line for line in stdout if line.startswith("made key ")]
    lost = [line for line in stdout if line.startswith("key ") and "made by another rotation" in line]
    assert len(made) == 1 and len(lost) == 1, stdout
    kid = made_kid(made[0])
    assert kid in lost[0]
    keys = cli.listed()
    assert list(keys) == [kid] and keys[kid]["successor_of"] == ""


@pytest.mark.anyio
async def test_a_revocation_from_the_cli_reaches_a_running_server(
    tmp_path: Path, make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    app: TestApp = await make_app(db_url=f"sqlite:///{tmp_path / 'auth.db'}", jwt=JwtSettings(enabled=True))
    await session_token(app)
    token = await get_token(app)
    kid = header_of(token)["kid"]
    # The command runs its own event loop: in a thread, beside the server's.
    out = await asyncio.to_thread(cli.ok, ["keys", "revoke", kid])
    assert out.startswith(f"removed key {kid}")
    # Within RELOAD_EVERY the server may still hold the row; once its cache ends, it is gone.
    monkeypatch.setattr(keyring_module, "RELOAD_EVERY", 0.0)
    assert await service(app).verify(app.ctx, token) is None
    assert kid not in [k["kid"] for k in await jwks(app)]
    assert header_of(await get_token(app))["kid"] != kid
