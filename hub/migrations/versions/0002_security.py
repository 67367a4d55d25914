"""security: clients, api keys, admin users, signing keys, audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('actor_kind', sa.String(length=20), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=True),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_agency_seq', ['agency', 'seq'], unique=False)

    op.create_table('signing_keys',
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('algorithm', sa.String(length=10), nullable=False),
    sa.Column('private_jwk_encrypted', sa.Text(), nullable=False),
    sa.Column('public_jwk', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kid')
    )
    op.create_table('used_assertions',
    sa.Column('jti', sa.String(length=200), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('jti', 'client_id')
    )
    with op.batch_alter_table('used_assertions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_assertions_expires_at'), ['expires_at'], unique=False)

    op.create_table('admin_users',
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.String(length=300), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('sso_subject', sa.String(length=300), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency'], ['agencies.code'], ),
    sa.PrimaryKeyConstraint('username'),
    sa.UniqueConstraint('sso_subject')
    )
    op.create_table('clients',
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('auth_method', sa.String(length=40), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=True),
    sa.Column('jwks', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['agency'], ['agencies.code'], ),
    sa.PrimaryKeyConstraint('client_id')
    )
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clients_agency'), ['agency'], unique=False)

    op.create_table('api_keys',
    sa.Column('key_id', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.client_id'], ),
    sa.PrimaryKeyConstraint('key_id')
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_client_id'), ['client_id'], unique=False)

    with op.batch_alter_table('hub_locks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('head_hash', sa.String(length=64), nullable=True))

    # The audit chain's head: seq of the last entry and its hash (the genesis hash is 64 zeros).
    op.bulk_insert(
        sa.table(
            "hub_locks", sa.column("name"), sa.column("counter"), sa.column("last_seq"),
            sa.column("head_hash"),
        ),
        [{"name": "audit", "counter": 0, "last_seq": 0, "head_hash": "0" * 64}],
    )


def downgrade() -> None:
    op.execute("DELETE FROM hub_locks WHERE name = 'audit'")

    with op.batch_alter_table('hub_locks', schema=None) as batch_op:
        batch_op.drop_column('head_hash')

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_client_id'))

    op.drop_table('api_keys')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_agency'))

    op.drop_table('clients')
    op.drop_table('admin_users')
    with op.batch_alter_table('used_assertions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_assertions_expires_at'))

    op.drop_table('used_assertions')
    op.drop_table('signing_keys')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_agency_seq')

    op.drop_table('audit_log')

