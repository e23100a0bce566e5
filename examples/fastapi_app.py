"""An app that mounts authkeeper at /api/auth and protects its routes with it.

Run it next to ``./dev serve`` (which has port 8000), from the repository's root:

    .venv/bin/python examples/fastapi_app.py              # http://127.0.0.1:8001
    PORT=8002 .venv/bin/python examples/fastapi_app.py    # another port

``PORT`` (default 8001) is both the port uvicorn listens on and the port of the base URL, so
the origin check accepts the app's own requests; set ``AUTHKEEPER_BASE_URL`` when the app is
reached under another URL (behind a proxy). It uses the same settings as ``./dev serve``
(``authkeeper.db`` and ``.authkeeper-secret`` in the working directory, or ``DATABASE_URL``,
``AUTHKEEPER_CONFIG`` and the other ``AUTHKEEPER_*`` variables), and migrates the database at
start. Mails are printed to the console; the verification link lands on ``/``.
"""

from __future__ import annotations

import dataclasses
import os

from fastapi import Depends, FastAPI

from authkeeper import Authkeeper, load_settings
from authkeeper.core.models import User
from authkeeper.integrations.fastapi import AuthDependencies

PORT = int(os.environ.get("PORT", "8001"))

settings = load_settings(os.environ.get("AUTHKEEPER_CONFIG"))
if not os.environ.get("AUTHKEEPER_BASE_URL"):
    settings = dataclasses.replace(settings, base_url=f"http://127.0.0.1:{PORT}")
auth = Authkeeper(settings)
app = FastAPI(title="Notes", lifespan=auth.lifespan)
users = AuthDependencies(auth)
users.install(app)

NOTES: dict[str, list[str]] = {}


@app.get("/")
async def home(user: User | None = Depends(users.optional_user)) -> dict[str, object]:
    """Where the verification link lands (its default callback is ``/``)."""
    if user is None:
        return {"signedIn": False, "signUp": "POST /api/auth/sign-up/email"}
    return {"signedIn": True, "email": user.email, "emailVerified": user.email_verified}


@app.get("/public")
async def public(user: User | None = Depends(users.optional_user)) -> dict[str, object]:
    return {"hello": user.name if user else "stranger"}


@app.get("/notes")
async def list_notes(user: User = Depends(users.current_user)) -> dict[str, object]:
    return {"owner": user.email, "notes": NOTES.get(user.id, [])}


@app.post("/notes")
async def add_note(text: str, user: User = Depends(users.verified_user)) -> dict[str, object]:
    NOTES.setdefault(user.id, []).append(text[:500])
    return {"count": len(NOTES[user.id])}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=PORT)
