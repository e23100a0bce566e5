"""FastAPI dependencies over a :class:`~authkeeper.verifier.Verifier`.

    verifier = Verifier("https://auth.example.com/api/auth/jwks", roles={"admin": {"user": ["ban"]}})
    auth = JWTAuth(verifier)
    app = FastAPI(lifespan=auth.lifespan)    # fetches the JWKS at start, closes the client at the end
    auth.install(app)                        # refusals answer {code, message} with their status

    @app.get("/me")
    async def me(claims: Claims = Depends(auth.current_claims)) -> dict: ...

    @app.get("/admin", dependencies=[Depends(auth.require_role("admin"))])
    async def admin() -> dict: ...

    @app.post("/users/{id}/ban", dependencies=[Depends(auth.require_permission({"user": ["ban"]}))])
    async def ban(id: str) -> dict: ...

    @app.post("/account/delete")
    async def delete(session: SessionInfo = Depends(auth.current_session)) -> dict: ...  # live check

Refusals are raised as an ``HTTPException`` subclass: with :meth:`JWTAuth.install` they answer
``{"code", "message"}`` (the auth server's own shape), without it FastAPI's default handler still
answers the right status (``{"detail": {"code", "message"}}``), never a 500. A 401 carries
``WWW-Authenticate: Bearer`` (RFC 6750). The bearer scheme shows in the OpenAPI document.

:attr:`JWTAuth.current_session` forwards the browser's cookie when the caller sends no bearer:
on an unsafe method it then requires an ``Origin`` among the verifier's ``trusted_origins``
(the issuer's origin and those given: ``Verifier(..., trusted_origins=["https://app.example.com"])``),
else 403 ``INVALID_ORIGIN``, so a cross-site form cannot act with the user's cookie.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import errors
from .errors import VerifierError
from .introspection import bearer_token
from .principal import Claims, Permissions, SessionInfo, normalise_permissions
from .verify import Verifier

__all__ = ["AuthHTTPException", "JWTAuth", "error_response"]


def _headers(error: VerifierError) -> dict[str, str] | None:
    if error.status != 401:
        return None
    if error.code in (errors.MISSING_TOKEN, errors.INVALID_SESSION):
        return {"WWW-Authenticate": "Bearer"}
    return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def error_response(error: VerifierError) -> Response:
    """A refusal as the auth server answers one: ``status`` and ``{"code", "message"}``."""
    return JSONResponse(error.to_dict(), status_code=error.status, headers=_headers(error))


class AuthHTTPException(HTTPException):
    """A :class:`VerifierError` FastAPI knows how to answer even without :meth:`JWTAuth.install`."""

    def __init__(self, error: VerifierError) -> None:
        super().__init__(error.status, detail=error.to_dict(), headers=_headers(error))
        self.error = error


class JWTAuth:
    """Dependencies bound to one verifier.

    Attributes:
        current_claims: the verified :class:`Claims` of ``Authorization: Bearer <jwt>``
            (401 when absent or invalid).
        optional_claims: the same, or ``None`` without an ``Authorization`` header. Any other
            ``Authorization`` (``Basic …``, a bare ``Bearer``, an invalid token) is a 401: a
            broken credential is never read as "anonymous".
    """

    def __init__(self, verifier: Verifier, *, scheme_name: str = "JWT") -> None:
        self.verifier = verifier
        bearer = HTTPBearer(
            auto_error=False,
            bearerFormat="JWT",
            scheme_name=scheme_name,
            description="A JWT issued by the auth server",
        )

        async def current_claims(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Claims:
            if credentials is None:
                raise AuthHTTPException(VerifierError(errors.MISSING_TOKEN))
            return await self._verify(credentials.credentials)

        async def optional_claims(
            request: Request,
            _documented: HTTPAuthorizationCredentials | None = Depends(bearer),  # the OpenAPI scheme only
        ) -> Claims | None:
            # Read here, not from HTTPBearer: it gives None for "Basic …" and a bare "Bearer",
            # which would make such a caller anonymous.
            values = request.headers.getlist("authorization")
            if not values:
                return None
            token = bearer_token(values[0]) if len(values) == 1 else None
            if token is None:
                raise AuthHTTPException(
                    VerifierError(errors.INVALID_TOKEN, "The Authorization header is not a bearer token")
                )
            return await self._verify(token)

        async def current_session(request: Request) -> SessionInfo:
            try:
                return await self.verifier.introspect_request(request.method, request.headers)
            except VerifierError as exc:
                raise AuthHTTPException(exc) from None

        self.current_claims: Callable[..., Awaitable[Claims]] = current_claims
        self.optional_claims: Callable[..., Awaitable[Claims | None]] = optional_claims
        self._current_session: Callable[..., Awaitable[SessionInfo]] = current_session

    async def _verify(self, token: str) -> Claims:
        try:
            return await self.verifier.verify(token)
        except VerifierError as exc:
            raise AuthHTTPException(exc) from None

    def install(self, app: Any) -> None:
        """Make every refusal (the dependencies' and a :class:`VerifierError` a route lets
        through) answer ``{"code", "message"}`` with its status."""

        async def handler(_request: Request, exc: Exception) -> Response:
            error = exc.error if isinstance(exc, AuthHTTPException) else exc
            assert isinstance(error, VerifierError)
            return error_response(error)

        app.add_exception_handler(AuthHTTPException, handler)
        app.add_exception_handler(VerifierError, handler)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        """``FastAPI(lifespan=auth.lifespan)``: warm the JWKS cache (an auth server that is
        down does not stop the start: the cache retries on the first request), and close the
        verifier's HTTP client at the end."""
        with contextlib.suppress(VerifierError):
            await self.verifier.prefetch()
        try:
            yield
        finally:
            await self.verifier.aclose()

    def require_role(self, *roles: str) -> Callable[..., Awaitable[Claims]]:
        """A dependency giving the claims if the caller holds one of ``roles``: 401 without a
        valid token, 403 ``FORBIDDEN`` without the role."""
        if not roles:
            raise ValueError("name at least one role")
        verifier = self.verifier

        async def dependency(claims: Claims = Depends(self.current_claims)) -> Claims:
            if not verifier.has_role(claims, *roles):
                raise AuthHTTPException(VerifierError(errors.FORBIDDEN))
            return claims

        return dependency

    def require_permission(self, permissions: Permissions) -> Callable[..., Awaitable[Claims]]:
        """A dependency giving the claims if one of the caller's roles allows every action of
        ``permissions`` (``{"user": ["ban"]}``) by the verifier's role table: 401 without a
        valid token, 403 ``FORBIDDEN`` without the permission. A verifier without a role
        table, or a malformed ``permissions``, fails here, at declaration."""
        table = self.verifier.role_table("require_permission")
        wanted = {resource: tuple(actions) for resource, actions in normalise_permissions(permissions).items()}

        async def dependency(claims: Claims = Depends(self.current_claims)) -> Claims:
            if not table.allows(claims.roles, wanted):
                raise AuthHTTPException(VerifierError(errors.FORBIDDEN))
            return claims

        return dependency

    @property
    def current_session(self) -> Callable[..., Awaitable[SessionInfo]]:
        """A dependency giving the caller's live session, asked of the auth server now (its
        ``Authorization: Bearer <session token>`` is forwarded, else its auth cookies): 401
        when there is none, 503 when the auth server cannot answer. For routes that must see
        a sign-out at once.

        CSRF: on an unsafe method (not GET, HEAD nor OPTIONS), a request whose credential would
        be a forwarded cookie must send an ``Origin`` (or, without one, a ``Referer``) among the
        verifier's ``trusted_origins`` (the issuer's origin and those given); else 403
        ``INVALID_ORIGIN``, before the auth server is asked. ``Origin: null`` is refused. A
        bearer needs no Origin: a cross-site page cannot attach one without a preflight.

        Reading it fails (``RuntimeError``) where a route declares it when the verifier has no
        ``session_url``, saying why and what to pass, rather than in a request."""
        if self.verifier.session_url is None:
            raise RuntimeError(f"current_session needs the verifier's session_url: {self.verifier.no_session_url}")
        return self._current_session
