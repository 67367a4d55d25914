"""initial schema: agency registry, vocabularies, records, change log, idempotency keys

Revision ID: 0001
Revises: 
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('agencies',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('hub_locks',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('counter', sa.BigInteger(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('idempotency_keys',
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id', 'key')
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_created_at'), ['created_at'], unique=False)

    op.create_table('record_changes',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('record_type', sa.String(length=40), nullable=False),
    sa.Column('owner_agency', sa.String(length=40), nullable=False),
    sa.Column('source_id', sa.String(length=200), nullable=False),
    sa.Column('op', sa.String(length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.Column('previous_visibility', sa.String(length=10), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('provenance', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('record_changes', schema=None) as batch_op:
        batch_op.create_index('ix_record_changes_record', ['record_id', 'seq'], unique=False)

    op.create_table('vocabularies',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('label_vi', sa.String(length=300), nullable=False),
    sa.Column('label_en', sa.String(length=300), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('agency_successions',
    sa.Column('predecessor_code', sa.String(length=40), nullable=False),
    sa.Column('successor_code', sa.String(length=40), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['predecessor_code'], ['agencies.code'], ),
    sa.ForeignKeyConstraint(['successor_code'], ['agencies.code'], ),
    sa.PrimaryKeyConstraint('predecessor_code', 'successor_code')
    )
    op.create_table('records',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('record_type', sa.String(length=40), nullable=False),
    sa.Column('owner_agency', sa.String(length=40), nullable=False),
    sa.Column('source_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('title_folded', sa.Text(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('primary_date', sa.Date(), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('provenance', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['owner_agency'], ['agencies.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('owner_agency', 'record_type', 'source_id', name='uq_records_natural')
    )
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.create_index('ix_records_type_date', ['record_type', 'primary_date'], unique=False)
        batch_op.create_index('ix_records_type_kind_seq', ['record_type', 'kind', 'seq'], unique=False)
        batch_op.create_index('ix_records_type_owner_seq', ['record_type', 'owner_agency', 'seq'], unique=False)
        batch_op.create_index('ix_records_type_seq', ['record_type', 'seq'], unique=False)
        batch_op.create_index('ix_records_type_updated', ['record_type', 'updated_at'], unique=False)
        batch_op.create_index(
            'ix_records_type_title', ['record_type', 'title_folded'], unique=False,
            postgresql_ops={'title_folded': 'text_pattern_ops'},
        )

    op.create_table('vocabulary_terms',
    sa.Column('vocabulary', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('label_vi', sa.String(length=300), nullable=False),
    sa.Column('label_en', sa.String(length=300), nullable=False),
    sa.Column('term_group', sa.String(length=60), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['vocabulary'], ['vocabularies.name'], ),
    sa.PrimaryKeyConstraint('vocabulary', 'code')
    )
    op.create_table('record_facets',
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('facet', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id', 'facet', 'code')
    )
    with op.batch_alter_table('record_facets', schema=None) as batch_op:
        batch_op.create_index('ix_record_facets_lookup', ['facet', 'code', 'record_id'], unique=False)


    op.bulk_insert(
        sa.table("hub_locks", sa.column("name"), sa.column("counter"), sa.column("last_seq")),
        [{"name": "change_feed", "counter": 0, "last_seq": 0}],
    )
    if op.get_bind().dialect.name == "postgresql":
        # A trigram index keeps diacritic-insensitive search (LIKE '%word%' on folded text)
        # from scanning the table as it grows. search_text includes the title, so ranking by
        # title needs no index of its own.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_records_search_trgm ON records USING gin (search_text gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_records_search_trgm")

    with op.batch_alter_table('record_facets', schema=None) as batch_op:
        batch_op.drop_index('ix_record_facets_lookup')

    op.drop_table('record_facets')
    op.drop_table('vocabulary_terms')
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index('ix_records_type_updated')
        batch_op.drop_index('ix_records_type_title')
        batch_op.drop_index('ix_records_type_seq')
        batch_op.drop_index('ix_records_type_owner_seq')
        batch_op.drop_index('ix_records_type_kind_seq')
        batch_op.drop_index('ix_records_type_date')

    op.drop_table('records')
    op.drop_table('agency_successions')
    op.drop_table('vocabularies')
    with op.batch_alter_table('record_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_record_changes_record')

    op.drop_table('record_changes')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_created_at'))

    op.drop_table('idempotency_keys')
    op.drop_table('hub_locks')
    op.drop_table('agencies')

