"""Fixtures of the verifier tests: a stand-in auth server per test, a fake clock, and verifiers
closed after the test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from authkeeper.verifier import CachePolicy, Verifier

from .support import FakeClock, StubAuthServer, all_keys

MakeVerifier = Callable[..., Verifier]


@pytest.fixture
def stub() -> Iterator[StubAuthServer]:
    server = StubAuthServer(all_keys()).start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_verifier(stub: StubAuthServer, clock: FakeClock) -> AsyncIterator[MakeVerifier]:
    """``make_verifier(**overrides)``: a verifier of ``stub`` on the fake clock, with a short
    timeout (tests of a hanging server stay short)."""
    made: list[Verifier] = []

    def make(**overrides: Any) -> Verifier:
        url = overrides.pop("jwks_url", stub.jwks_url)
        options: dict[str, Any] = {"clock": clock, "timeout": 0.5, "cache": CachePolicy(), **overrides}
        verifier = Verifier(url, **options)
        made.append(verifier)
        return verifier

    yield make
    for verifier in made:
        await verifier.aclose()
