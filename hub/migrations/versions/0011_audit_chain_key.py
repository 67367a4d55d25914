"""audit: keyed chain (chain_version per entry) and the sealed boundary of unkeyed entries

Entries already written keep their plain SHA-256 hashes and are marked chain_version 1; new
entries are HMAC-SHA256 under a key derived from the secret key (chain_version 2). The hub_locks
row "audit_v1" records the last seq that may be unkeyed, sealed with the audit key, so an entry
rewritten later cannot pass as an old unkeyed one.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""
import hashlib
import hmac

from alembic import context, op
import sqlalchemy as sa

from hub._secret_key import audit_key
from hub._settings import Settings


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# As hub._audit.boundary_seal (copied: a migration must not change when the code does).
_BOUNDARY_CONTEXT = b"rightshub audit v1 boundary\x00"


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_version', sa.SmallInteger(), server_default='1',
                                      nullable=False))
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('chain_version', server_default=None)

    settings = context.config.attributes.get("settings") or Settings()
    key = audit_key(settings)
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT last_seq FROM hub_locks WHERE name = 'audit'")).scalar()
    last_v1 = int(last or 0)
    seal = hmac.new(key, _BOUNDARY_CONTEXT + str(last_v1).encode(), hashlib.sha256).hexdigest()
    op.bulk_insert(
        sa.table(
            "hub_locks", sa.column("name"), sa.column("counter"), sa.column("last_seq"),
            sa.column("head_hash"),
        ),
        [{"name": "audit_v1", "counter": 0, "last_seq": last_v1, "head_hash": seal}],
    )


def downgrade() -> None:
    # Entries written since (chain_version 2) no longer verify with the unkeyed code.
    op.execute("DELETE FROM hub_locks WHERE name = 'audit_v1'")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('chain_version')
