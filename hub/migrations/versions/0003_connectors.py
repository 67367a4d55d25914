"""pull connectors: configurations, runs, checkpoints

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('connectors',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('config', JSON, nullable=False),
    sa.Column('secrets', sa.Text(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('schedule_seconds', sa.Integer(), nullable=False),
    sa.Column('next_run_at', TS, nullable=True),
    sa.Column('full_refresh_requested', sa.Boolean(), nullable=False),
    sa.Column('lease_owner', sa.String(length=200), nullable=True),
    sa.Column('lease_until', TS, nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('breaker_open_until', TS, nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['agency'], ['agencies.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.create_index('ix_connectors_due', ['enabled', 'next_run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_connectors_agency'), ['agency'], unique=False)

    op.create_table('connector_runs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('connector_id', sa.String(length=64), nullable=False),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('full_refresh', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', TS, nullable=False),
    sa.Column('finished_at', TS, nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('fetched', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('errors', JSON, nullable=False),
    sa.ForeignKeyConstraint(['connector_id'], ['connectors.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('connector_runs', schema=None) as batch_op:
        batch_op.create_index('ix_connector_runs_connector', ['connector_id', 'started_at'], unique=False)

    op.create_table('connector_checkpoints',
    sa.Column('connector_id', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=100), nullable=False),
    sa.Column('state', JSON, nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['connector_id'], ['connectors.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('connector_id', 'stream')
    )
    op.create_table('connector_seen',
    sa.Column('connector_id', sa.String(length=64), nullable=False),
    sa.Column('stream', sa.String(length=100), nullable=False),
    sa.Column('source_id', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['connector_id'], ['connectors.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('connector_id', 'stream', 'source_id')
    )


def downgrade() -> None:
    op.drop_table('connector_seen')
    op.drop_table('connector_checkpoints')
    with op.batch_alter_table('connector_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_connector_runs_connector')
    op.drop_table('connector_runs')
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connectors_agency'))
        batch_op.drop_index('ix_connectors_due')
    op.drop_table('connectors')
