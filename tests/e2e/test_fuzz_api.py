"""Schemathesis against a live server: every operation of ``/openapi.json``, signed out and
signed in (an admin for ``/admin/*``, a plain user for the rest), must answer below 500 and
only with a status the document lists for it (checks ``not_a_server_error`` and
``status_code_conformance``).

Each operation gets Schemathesis' coverage cases (boundary and invalid values, positive and
negative) and a derandomized Hypothesis run of positive and negative cases. Before each
signed-in case the credential is checked (one ``get-session``): a case that ended it (sign-out,
revoke-sessions, delete-user, an admin acting on itself) is followed by a new sign-in, or a
new user. Budget: 60-90 s on two cores (``MAX_EXAMPLES``)."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, need, start_server, stop_server

BASE = "/api/auth"
PASSWORD = "a fine fuzzing passphrase"
MAX_EXAMPLES = int(os.environ.get("AUTHKEEPER_FUZZ_EXAMPLES", "12"))
"""Hypothesis examples per operation, per mode (positive, negative), per phase: 12 keeps the
test within 60-90 s on two cores; set AUTHKEEPER_FUZZ_EXAMPLES higher for a longer local hunt."""
ADMIN_EMAILS = tuple(f"fuzz-admin-{i}@example.com" for i in range(40))


class Identity:
    """A signed-in user for the fuzz: ``credentials()`` checks the session first and signs in
    again, or signs a new user up, when a fuzzed case ended it, changed the password or the
    address, banned or deleted the user."""

    def __init__(self, server: LiveServer, emails: Iterator[str], *, admin: bool, cookie: bool) -> None:
        self.url = server.url
        self.http = httpx.Client(base_url=server.url + BASE, headers={"origin": server.url}, timeout=30)
        self.emails = emails
        self.admin = admin
        self.cookie = cookie
        self.email = ""
        self.token = ""
        self.cookie_value = ""
        self.renewals = 0
        self.new_user()

    def close(self) -> None:
        self.http.close()

    def new_user(self) -> None:
        self.email = next(self.emails)  # StopIteration: the fuzz used up every prepared user
        r = self.http.post("/sign-up/email", json={"email": self.email, "password": PASSWORD, "name": "Fuzz"})
        assert r.status_code == 200, r.text
        if self.admin:  # admin_emails make an admin once the address is verified
            mails = httpx.get(f"{self.url}/__mailbox", params={"to": self.email}).json()
            assert httpx.get(mails[-1]["url"]).status_code in (200, 302)
        assert self.sign_in(), f"cannot sign in as {self.email}"

    def sign_in(self) -> bool:
        r = self.http.post("/sign-in/email", json={"email": self.email, "password": PASSWORD})
        if r.status_code != 200:
            return False
        self.token = r.json()["token"]
        self.cookie_value = r.cookies["better-auth.session_token"]
        return True

    def alive(self) -> bool:
        r = self.http.get("/get-session", params={"disableRefresh": "true"}, headers=self.headers())
        data = r.json() if r.status_code == 200 else None
        if not data or data["user"]["email"] != self.email:
            return False
        return not self.admin or bool(data["user"]["emailVerified"])  # still in admin_emails, verified

    def headers(self) -> dict[str, str]:
        if self.cookie:
            return {"cookie": f"better-auth.session_token={self.cookie_value}"}
        return {"authorization": f"Bearer {self.token}"}

    def credentials(self) -> dict[str, str]:
        if not self.alive():
            self.renewals += 1
            if not (self.sign_in() and self.alive()):
                self.new_user()
        return self.headers()


def _server(tmp_path: Path) -> LiveServer:
    return start_server(
        tmp_path,
        {
            "AUTHKEEPER_OPENAPI": "true",
            "AUTHKEEPER_LOCKOUT": json.dumps({"max_failures": 1_000_000}),
            "AUTHKEEPER_ADMIN__ADMIN_EMAILS": ",".join(ADMIN_EMAILS),
            "AUTHKEEPER_JWT__ENABLED": "true",  # /token and /jwks too
        },
    )


def _imports() -> Any:
    try:
        import hypothesis  # noqa: F401
        import schemathesis
    except ImportError:
        need("schemathesis is not installed (pip install -e '.[test]')")
    return schemathesis


@contextmanager
def _live(tmp_path: Path) -> Iterator[LiveServer]:
    server = _server(tmp_path)
    try:
        yield server
    finally:
        stop_server(server)


class Record:
    """What the fuzz saw: the failing cases (their reports) and the statuses per operation."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.statuses: dict[str, Counter[int]] = {}
        self.cases = 0

    def summary(self) -> str:
        return "\n".join(f"  {label}: {dict(sorted(c.items()))}" for label, c in sorted(self.statuses.items()))


def _fuzz_operation(
    schemathesis: Any, op: Any, api: str, credentials: Callable[[], dict[str, str]] | None, record: Record
) -> None:
    """Coverage cases, then Hypothesis' positive and negative ones, each checked."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import status_code_conformance

    checks = [not_a_server_error, status_code_conformance]
    seen = record.statuses.setdefault(op.label, Counter())

    def send(case: Any) -> None:
        record.cases += 1
        headers = {"origin": api.removesuffix(BASE), **(credentials() if credentials else {})}
        try:
            response = case.call(base_url=api, headers=headers, allow_redirects=False, timeout=30)
            seen[response.status_code] += 1
            case.validate_response(response, checks=checks, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - a failed check (FailureGroup): collect it
            if len(record.failures) < 50:
                record.failures.append(f"{op.label}: {exc}"[:3000])

    config = op.schema.config.generation_for(operation=op, phase="coverage")
    for case in op.schema.iter_coverage_cases(
        op, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], generation_config=config
    ):
        send(case)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(op.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            send(case)

        try:
            run()
        except Unsatisfiable:
            pass  # nothing to make invalid (no body, no parameter)


def test_fuzz_every_operation_signed_out_and_in(tmp_path: Path) -> None:
    schemathesis = _imports()
    started = time.monotonic()
    with _live(tmp_path) as server:
        api = server.url + BASE
        schema = schemathesis.openapi.from_dict(httpx.get(f"{api}/openapi.json").json())
        operations = sorted((r.ok() for r in schema.get_all_operations()), key=lambda o: o.label)
        signed_out, signed_in = Record(), Record()
        plain = (f"fuzz-user-{i}@example.com" for i in range(10_000))
        admin = Identity(server, iter(ADMIN_EMAILS), admin=True, cookie=False)
        user = Identity(server, plain, admin=False, cookie=False)
        cookie_user = Identity(server, plain, admin=False, cookie=True)
        try:
            for op in operations:
                _fuzz_operation(schemathesis, op, api, None, signed_out)
            for i, op in enumerate(operations):
                # /admin/* as an admin; the rest as a plain user, by bearer or by cookie in turn.
                who = admin if op.path.startswith("/admin/") else (cookie_user if i % 2 else user)
                _fuzz_operation(schemathesis, op, api, who.credentials, signed_in)
        finally:
            for identity in (admin, user, cookie_user):
                identity.close()
        renewals = {"admin": admin.renewals, "user": user.renewals, "cookie user": cookie_user.renewals}
        report = (
            f"fuzz: {len(operations)} operations, {signed_out.cases} cases signed out, {signed_in.cases} signed in, "
            f"credential renewals {renewals}, {time.monotonic() - started:.0f} s\n"
            f"statuses signed out:\n{signed_out.summary()}\nstatuses signed in:\n{signed_in.summary()}"
        )
        print(report)
        failures = signed_out.failures + [f"[signed in] {f}" for f in signed_in.failures]
        if failures:
            pytest.fail(
                f"{len(failures)} failing cases:\n\n"
                + "\n\n".join(failures)
                + "\n--- server log (tail) ---\n"
                + server.output()[-5000:],
                pytrace=False,
            )
