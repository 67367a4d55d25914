"""ingest: record_facets without a foreign key to records (see hub.tables.RecordFacet)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# The name PostgreSQL gave the key in 0001; SQLite's is unnamed, so batch mode names it.
PG_NAME = "record_facets_record_id_fkey"
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
SQLITE_NAME = "fk_record_facets_record_id_records"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(PG_NAME, "record_facets", type_="foreignkey")
        return
    with op.batch_alter_table("record_facets", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(SQLITE_NAME, type_="foreignkey")


def downgrade() -> None:
    # Facets of records that no longer exist would break the key: none should, but the way
    # back must not fail on them.
    op.execute("DELETE FROM record_facets WHERE NOT EXISTS "
               "(SELECT 1 FROM records r WHERE r.id = record_facets.record_id)")
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key(PG_NAME, "record_facets", "records", ["record_id"], ["id"],
                              ondelete="CASCADE")
        return
    with op.batch_alter_table("record_facets", naming_convention=NAMING) as batch_op:
        batch_op.create_foreign_key(SQLITE_NAME, "records", ["record_id"], ["id"],
                                    ondelete="CASCADE")
