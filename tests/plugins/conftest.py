"""Fixtures of the plugin tests: a world with an admin, a moderator and a user (see
:mod:`tests.plugins.admin.helpers`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.plugins.admin.helpers import World


@pytest.fixture
async def make_world(make_app: Callable[..., Any]) -> AsyncIterator[Callable[..., Any]]:
    """``await make_world(**settings_overrides)`` → a :class:`World` (``db_url=`` for PostgreSQL)."""
    worlds: list[World] = []

    async def factory(**overrides: Any) -> World:
        world = await World(await make_app(**overrides)).setup()
        worlds.append(world)
        return world

    yield factory
    for world in worlds:
        await world.close()


@pytest.fixture
async def world(make_world: Callable[..., Any]) -> World:
    return await make_world()
