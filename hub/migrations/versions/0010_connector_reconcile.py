"""connectors: shift counts and reconciliation (run kind and counts, keys last ingested)

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('connector_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='pull',
                                      nullable=False))
        for name in ('shifts', 'missing', 'stale', 'gone'):
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default='0',
                                          nullable=False))
    op.create_table('connector_keys',
    sa.Column('connector_id', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=100), nullable=False),
    sa.Column('source_id', sa.String(length=200), nullable=False),
    sa.Column('cursor_value', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['connector_id'], ['connectors.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('connector_id', 'stream', 'source_id')
    )


def downgrade() -> None:
    op.drop_table('connector_keys')
    with op.batch_alter_table('connector_runs', schema=None) as batch_op:
        for name in ('gone', 'stale', 'missing', 'shifts', 'kind'):
            batch_op.drop_column(name)
