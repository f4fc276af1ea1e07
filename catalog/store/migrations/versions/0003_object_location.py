"""object locations: a column, so overlap checks and the signer find tables by location

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 11:20:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_objects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location", sa.Text(), nullable=False, server_default=""))
    objects = sa.table(
        "catalog_objects",
        sa.column("id", sa.String),
        sa.column("metadata_json", sa.Text),
        sa.column("location", sa.Text),
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(objects.c.id, objects.c.metadata_json)):
        location = json.loads(row.metadata_json).get("location", "").rstrip("/")
        connection.execute(objects.update().where(objects.c.id == row.id).values(location=location))
    with op.batch_alter_table("catalog_objects", schema=None) as batch_op:
        batch_op.create_index("ix_catalog_objects_location", ["location"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("catalog_objects", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_objects_location")
        batch_op.drop_column("location")
