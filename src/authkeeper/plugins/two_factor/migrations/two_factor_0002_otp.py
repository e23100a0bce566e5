"""twoFactor.otpEnabled (authkeeper's): this user of an authenticator app also enrolled
emailed codes (NULL in Better Auth's rows: the app alone).

Revision ID: two_factor_0002_otp
Revises: two_factor_0001
"""

import sqlalchemy as sa

from authkeeper.storage.schema_sync import Revision, run

revision = "two_factor_0002_otp"
down_revision = "two_factor_0001"
branch_labels = None
depends_on = None


REVISION = Revision(columns={"twoFactor": lambda: [sa.Column("otpEnabled", sa.Boolean)]})


def upgrade() -> None:
    run(REVISION)
