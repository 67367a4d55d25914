"""archive duty: products already announced to subscribers as overdue (archive.overdue)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'archive_overdue_notices',
        sa.Column('record_id', sa.String(length=36), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('released_on', sa.Date(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('deposit_days', sa.Integer(), nullable=False),
        sa.Column('funding_source', sa.String(length=40), nullable=False),
        sa.Column('announced_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('record_id'),
        sa.UniqueConstraint('seq'),
    )


def downgrade() -> None:
    op.drop_table('archive_overdue_notices')
