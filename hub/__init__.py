"""The hub's core: settings, the central database, the ingest pipeline, reads and the change
feed. Imports only ``schemas``; ``auth``, ``connectors`` and ``gateway`` build on it."""

from hub import _json_strict as strict_json  # strict_json.loads: duplicate keys refused
from hub._archive import (
    STATE_FUNDING,
    UnarchivedReport,
    VerifyReport,
    collect_orphan_files,
    files_for_records,
    unarchived_state_funded,
    verify_archive,
)
from hub._archive_db import FileInfo, current_file_lists, file_lists_at
from hub._archive_duty import (
    Compliance,
    ComplianceRow,
    DutyProduct,
    archive_compliance,
    duty_products,
)
from hub._audit import AuditAnchor, AuditReport
from hub._audit import append as append_audit
from hub._audit import append_in_own_transaction as audit_in_own_transaction
from hub._audit import verify as verify_audit
from hub._audit import verify_locked as verify_audit_locked
from hub._audit_rekey import rekey_audit_chain
from hub._backup import (
    BackupCheck,
    BackupDamaged,
    BackupRefused,
    BackupResult,
    RestoreResult,
    check_backup,
    create_backup,
    restore_backup,
    restore_secret_key,
)
from hub._catalog import Catalog, seed_vocabularies
from hub._changes import ChangePage, list_changes, withdrawal_of
from hub._cursor import decode_cursor, encode_cursor
from hub._db import Database
from hub._errors import (
    Conflict,
    Forbidden,
    HubError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from hub._hub import Hub
from hub._ingest import IngestPipeline, batch_too_large, decode_json, etag_for
from hub._migrate import MigrationStep, SchemaTooNew, UpgradePlan, plan_upgrade
from hub._principal import Principal
from hub._query import (
    Page,
    RecordFilter,
    envelope,
    get_record,
    get_record_by_id,
    list_records,
    search_tiers,
)
from hub._registry import AgencyGraph, load_agency_graph, load_registry_seed, seed_registry
from hub._report_data import (
    ReportData,
    annual_report,
    check_years,
    review_report,
)
from hub._secret_key import derive_key, load_secret_key, previous_secret_keys, secret_key_path
from hub._settings import DevPrincipal, Settings
from hub._stats import Bucket, dashboard_counts
from hub._summary import (
    IdempotencyRequest,
    ImportSummary,
    Rejection,
    StoredAnswer,
    request_hash,
)
from hub._tables import Agency, AgencySuccession, Record, Vocabulary, VocabularyTerm
from hub._uploads import clean_abandoned_uploads

__all__ = [
    "STATE_FUNDING",
    "Agency",
    "AgencyGraph",
    "AgencySuccession",
    "AuditAnchor",
    "AuditReport",
    "BackupCheck",
    "BackupDamaged",
    "BackupRefused",
    "BackupResult",
    "Bucket",
    "Catalog",
    "ChangePage",
    "Compliance",
    "ComplianceRow",
    "Conflict",
    "Database",
    "DevPrincipal",
    "DutyProduct",
    "FileInfo",
    "Forbidden",
    "Hub",
    "HubError",
    "IdempotencyRequest",
    "ImportSummary",
    "IngestPipeline",
    "InvalidInput",
    "MigrationStep",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "PreconditionFailed",
    "Principal",
    "RateLimited",
    "Record",
    "RecordFilter",
    "Rejection",
    "ReportData",
    "RestoreResult",
    "SchemaTooNew",
    "Settings",
    "StoredAnswer",
    "UnarchivedReport",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "UpgradePlan",
    "ValidationFailed",
    "VerifyReport",
    "Vocabulary",
    "VocabularyTerm",
    "annual_report",
    "append_audit",
    "archive_compliance",
    "audit_in_own_transaction",
    "batch_too_large",
    "check_backup",
    "check_years",
    "clean_abandoned_uploads",
    "collect_orphan_files",
    "create_backup",
    "current_file_lists",
    "dashboard_counts",
    "decode_cursor",
    "decode_json",
    "derive_key",
    "duty_products",
    "encode_cursor",
    "envelope",
    "etag_for",
    "file_lists_at",
    "files_for_records",
    "get_record",
    "get_record_by_id",
    "list_changes",
    "list_records",
    "load_agency_graph",
    "load_registry_seed",
    "load_secret_key",
    "plan_upgrade",
    "previous_secret_keys",
    "rekey_audit_chain",
    "request_hash",
    "restore_backup",
    "restore_secret_key",
    "review_report",
    "search_tiers",
    "secret_key_path",
    "seed_registry",
    "seed_vocabularies",
    "strict_json",
    "unarchived_state_funded",
    "verify_archive",
    "verify_audit",
    "verify_audit_locked",
    "withdrawal_of",
]
