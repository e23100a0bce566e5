"""The two-factor plugin's Alembic revisions (branch ``two_factor``)."""

from pathlib import Path

LOCATION = Path(__file__).parent
BRANCH = "two_factor"
HEAD = "two_factor_0002_otp"
