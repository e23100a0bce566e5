"""The ASGI layer: routing, origin checks, rate limits, cookies, and errors to JSON."""

from .app import AuthApp, error_response

__all__ = ["AuthApp", "error_response"]
