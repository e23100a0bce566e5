"""Plugins: each adds endpoints, sign-in stages and rules to the core."""

from .base import Plugin

__all__ = ["Plugin"]
