"""Server-rendered pages that work without JavaScript: sign-in, sign-up, password reset,
email verification and the account pages; each installed plugin adds its own (two-factor's
challenge and set-up, the admin pages), declared in its ``Plugin`` (``pages``, ``templates``…).

``authkeeper serve`` serves them at ``/`` next to the API. In your own Starlette app::

    from authkeeper.pages import PagesApp

    app = Starlette(lifespan=auth.lifespan, routes=[
        Mount("/api/auth", app=auth.api),
        Mount("/", app=PagesApp(auth)),
    ])

The pages call the same flows as the JSON API and share its session cookie, rate limits
and redirect rules. Templates (Jinja2, autoescaped) and the stylesheet ship in the package.
"""

from .app import PagesApp

__all__ = ["PagesApp"]
