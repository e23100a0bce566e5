"""Nothing, now: this revision brought twoFactor.otpEnabled, which the two_factor branch's
second revision brings today. It stays, as the core's latest revision, so that databases
stamped here upgrade cleanly.

Revision ID: 0003_two_factor_otp
Revises: 0002_plugins
"""

revision = "0003_two_factor_otp"
down_revision = "0002_plugins"
branch_labels = None
depends_on = None


from authkeeper.storage.schema_sync import Revision, run

REVISION = Revision()


def upgrade() -> None:
    run(REVISION)
