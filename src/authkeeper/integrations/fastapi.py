"""FastAPI dependencies: ``current_user``, ``optional_user``, ``verified_user``,
``require_role(*roles)``, ``require_permission({resource: [actions]})``, and
``credential(*kinds)`` for routes that also accept a plugin's credential (a JWT).

    auth = Authkeeper(settings)
    app = FastAPI(lifespan=auth.lifespan)
    users = AuthDependencies(auth)
    users.install(app)                      # mounts /api/auth and maps AuthError to JSON

    @app.get("/me")
    async def me(user: User = Depends(users.current_user)) -> dict: ...

    @app.get("/reports", dependencies=[Depends(users.require_permission({"audit": ["list"]}))])
    async def reports() -> dict: ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..auth import Authkeeper
from ..core import errors
from ..core.models import Session, User
from ..core.services import ACCESS_POLICY, AccessPolicy
from ..http.app import error_response
from ..web.call import SESSION
from ..web.credentials import Credential
from .starlette import SAFE_METHODS, authenticate


class AuthDependencies:
    """Dependencies bound to one :class:`~authkeeper.Authkeeper`."""

    def __init__(self, auth: Authkeeper) -> None:
        self.auth = auth

    def policy(self, what: str) -> AccessPolicy:
        """The access policy a plugin provides (the admin plugin): roles and permissions."""
        return self.auth.ctx.services.require(ACCESS_POLICY, for_=what)

    def install(self, app: Any, *, mount: bool = True) -> None:
        """Map AuthError to ``{code, message}`` and mount the API at the base path."""

        async def handler(_request: Request, exc: Exception) -> Response:
            assert isinstance(exc, errors.AuthError)
            return error_response(exc)

        app.add_exception_handler(errors.AuthError, handler)
        if mount:
            app.mount(self.auth.settings.base_path, self.auth.api)

    async def optional_session(self, request: Request) -> tuple[User, Session] | None:
        return await authenticate(self.auth, request)

    async def optional_user(self, request: Request) -> User | None:
        found = await authenticate(self.auth, request)
        return found[0] if found else None

    async def current_session(self, request: Request) -> Session:
        found = await authenticate(self.auth, request)
        if found is None:
            raise errors.AuthError(errors.UNAUTHORIZED)
        return found[1]

    async def current_user(self, request: Request) -> User:
        found = await authenticate(self.auth, request)
        if found is None:
            raise errors.AuthError(errors.UNAUTHORIZED)
        return found[0]

    async def verified_user(self, request: Request) -> User:
        user = await self.current_user(request)
        if not user.email_verified:
            raise errors.AuthError(errors.EMAIL_NOT_VERIFIED)
        return user

    def require_role(self, *roles: str) -> Callable[[Request], Awaitable[User]]:
        """A dependency giving the signed-in user if they hold one of ``roles`` (``admin_emails``
        and ``admin_user_ids`` count as ``admin``): 401 ``UNAUTHORIZED`` without a session,
        403 ``FORBIDDEN`` without the role."""
        wanted = frozenset(roles)
        policy = self.policy("require_role")  # at declaration: a missing policy stops start-up

        async def dependency(request: Request) -> User:
            user = await self.current_user(request)
            if not wanted.intersection(policy.roles_of(self.auth.ctx, user)):
                raise errors.AuthError(errors.FORBIDDEN)
            return user

        return dependency

    def require_permission(self, permissions: Mapping[str, Sequence[str]]) -> Callable[[Request], Awaitable[User]]:
        """A dependency giving the signed-in user if one of their roles allows every action
        in ``permissions`` (e.g. ``{"user": ["ban"]}``): 401 without a session, 403 ``FORBIDDEN``."""
        wanted = {resource: tuple(actions) for resource, actions in permissions.items()}
        policy = self.policy("require_permission")

        async def dependency(request: Request) -> User:
            user = await self.current_user(request)
            if not policy.has_permission(self.auth.ctx, user, wanted):
                raise errors.AuthError(errors.FORBIDDEN)
            return user

        return dependency

    def credential(self, *kinds: str, optional: bool = False) -> Callable[[Request], Awaitable[Credential | None]]:
        """A dependency giving the caller's credential of one of ``kinds`` (``"session"``, and a
        plugin's: ``"jwt"``), by the API's rules: a header credential wins, a cookie on an unsafe
        request must come from a trusted origin. 401 ``UNAUTHORIZED`` without one (None with
        ``optional``). A route that accepts JWTs says so here; ``current_user`` never does::

            @app.get("/reports")
            async def reports(who: Credential = Depends(users.credential("session", "jwt"))): ...
        """
        wanted = kinds or (SESSION,)
        known = {backend.kind for backend in self.auth.credentials.backends}
        unknown = [k for k in wanted if k not in known]
        if unknown:  # at declaration: a route that names a kind no plugin provides stops start-up
            raise ValueError(f"no installed plugin provides the credential kind {unknown[0]!r}")

        async def dependency(request: Request) -> Credential | None:
            found = await self.auth.credentials.authenticate(request, wanted, unsafe=request.method not in SAFE_METHODS)
            if found is None and not optional:
                raise errors.AuthError(errors.UNAUTHORIZED)
            return found

        return dependency
