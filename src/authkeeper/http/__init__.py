"""The JSON API: the dispatcher, the core endpoints, the OpenAPI document and the request
bodies, errors to JSON; a thin layer on :mod:`authkeeper.web` (request context, body
parsing, cookies, credentials, the origin check, rate limits)."""

from .app import AuthApp, error_response

__all__ = ["AuthApp", "error_response"]
