"""The web layer the JSON API (:mod:`authkeeper.http`), the pages (:mod:`authkeeper.pages`)
and the FastAPI/Starlette integrations (:mod:`authkeeper.integrations`) share, on Starlette:

- :mod:`.call`: the request context (``Call``), how an endpoint is declared (``Endpoint``);
- :mod:`.body`: reading a body within a limit, JSON and forms, ``check_text``, validation;
- :mod:`.cookies`: Better Auth's cookie names and attributes (``CookieJar``);
- :mod:`.credentials`: transports × strategies behind one resolver;
- :mod:`.security`: the one origin and CSRF check, the refusal log, security headers;
- :mod:`.outcomes`: a flow's result applied to the response (signed in, interrupted, signed out);
- :mod:`.ratelimit` and :mod:`.client_ip`: rate limits per client address.

It imports the core and the flows, never the API, the pages or a plugin.
"""
