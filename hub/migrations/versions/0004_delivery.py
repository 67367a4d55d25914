"""push to subscribers: subscriptions, outbox, deliveries

The outbox is ``record_changes`` (written with every change); these tables hold each
subscription's position in it, the delivery attempts and the dead letters.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('subscriptions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('endpoint_url', sa.Text(), nullable=False),
    sa.Column('record_types', JSON, nullable=True),
    sa.Column('owner_agencies', JSON, nullable=True),
    sa.Column('themes', JSON, nullable=True),
    sa.Column('auth_kind', sa.String(length=20), nullable=False),
    sa.Column('secret_encrypted', sa.Text(), nullable=False),
    sa.Column('token_url', sa.Text(), nullable=True),
    sa.Column('oauth_client_id', sa.String(length=200), nullable=True),
    sa.Column('oauth_scope', sa.String(length=300), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_token', sa.String(length=36), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_events', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency'], ['agencies.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_subscriptions_agency', ['agency'], unique=False)
        batch_op.create_index('ix_subscriptions_due', ['active', 'next_attempt_at'], unique=False)

    op.create_table('delivery_attempts',
    sa.Column('id', AUTO_ID, autoincrement=True, nullable=False),
    sa.Column('subscription_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivery_id', sa.String(length=80), nullable=False),
    sa.Column('first_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('redelivery', sa.Boolean(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_attempts_subscription', ['subscription_id', 'id'],
                              unique=False)
        batch_op.create_index('ix_delivery_attempts_at', ['at'], unique=False)

    op.create_table('delivery_dead_letters',
    sa.Column('subscription_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('record_type', sa.String(length=40), nullable=False),
    sa.Column('op', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('dead_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('redelivery_requested_by', sa.String(length=200), nullable=True),
    sa.Column('redelivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subscription_id', 'seq')
    )
    with op.batch_alter_table('delivery_dead_letters', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_dead_letters_status',
                              ['subscription_id', 'status', 'seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('delivery_dead_letters', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_dead_letters_status')
    op.drop_table('delivery_dead_letters')
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_attempts_at')
        batch_op.drop_index('ix_delivery_attempts_subscription')
    op.drop_table('delivery_attempts')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriptions_due')
        batch_op.drop_index('ix_subscriptions_agency')
    op.drop_table('subscriptions')
