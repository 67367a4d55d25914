"""connectors: who asked for a run (API and console runs are "manual"), errors counted
beyond the ones kept

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_requested_by', sa.String(length=200), nullable=True))
    with op.batch_alter_table('connector_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requested_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('errors_total', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('connector_runs', schema=None) as batch_op:
        batch_op.drop_column('errors_total')
        batch_op.drop_column('requested_by')
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.drop_column('run_requested_by')
