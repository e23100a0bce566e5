"""An app that mounts authkeeper at /api/auth and protects its routes with it.

Run: ``.venv/bin/uvicorn examples.fastapi_app:app --port 8000`` (after ``authkeeper migrate``).
"""

from __future__ import annotations

import os

from fastapi import Depends, FastAPI

from authkeeper import Authkeeper, load_settings
from authkeeper.core.models import User
from authkeeper.integrations.fastapi import AuthDependencies

auth = Authkeeper(load_settings(os.environ.get("AUTHKEEPER_CONFIG")))
app = FastAPI(title="Notes", lifespan=auth.lifespan)
users = AuthDependencies(auth)
users.install(app)

NOTES: dict[str, list[str]] = {}


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
