"""The jwt plugin's Alembic revisions (branch ``jwt``)."""

from pathlib import Path

LOCATION = Path(__file__).parent
BRANCH = "jwt"
HEAD = "jwt_0001"
