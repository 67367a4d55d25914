"""product archive: stored files, record files, uploads

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('stored_files',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_referenced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('record_files',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=120), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('attached_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attached_seq', sa.BigInteger(), nullable=False),
    sa.Column('attached_by', sa.String(length=200), nullable=False),
    sa.Column('detached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('detached_seq', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sha256'], ['stored_files.sha256'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('record_files', schema=None) as batch_op:
        batch_op.create_index('ix_record_files_record', ['record_id', 'attached_seq'], unique=False)
        batch_op.create_index('ix_record_files_sha256', ['sha256'], unique=False)

    op.create_table('file_uploads',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('upload_length', sa.BigInteger(), nullable=False),
    sa.Column('upload_offset', sa.BigInteger(), nullable=False),
    sa.Column('meta', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed', sa.Boolean(), nullable=False),
    sa.Column('file_id', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('file_uploads', schema=None) as batch_op:
        batch_op.create_index('ix_file_uploads_expires', ['completed', 'expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('file_uploads', schema=None) as batch_op:
        batch_op.drop_index('ix_file_uploads_expires')
    op.drop_table('file_uploads')
    with op.batch_alter_table('record_files', schema=None) as batch_op:
        batch_op.drop_index('ix_record_files_sha256')
        batch_op.drop_index('ix_record_files_record')
    op.drop_table('record_files')
    op.drop_table('stored_files')
