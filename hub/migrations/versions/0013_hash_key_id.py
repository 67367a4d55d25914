"""security: which secret key made each client-secret and API-key hash (for key rotation:
the hashes cannot be recomputed without the secrets, so they are upgraded on use and counted)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash_key_id', sa.String(length=16), nullable=True))
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash_key_id', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('hash_key_id')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('hash_key_id')
