"""token generation: rotation ends the access tokens minted from an older secret

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every existing token starts at generation 1. Access tokens minted before this revision
    # carry no generation at all and are refused (they live at most their lifetime, 1 h by
    # default), so one minted from a secret rotated before the upgrade cannot pass for gen 1.
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("generation", sa.Integer(), nullable=False, server_default="1")
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("generation")
