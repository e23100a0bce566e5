"""The admin plugin's Alembic revisions (branch ``admin``)."""

from pathlib import Path

LOCATION = Path(__file__).parent
BRANCH = "admin"
HEAD = "admin_0001"
