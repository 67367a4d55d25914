"""The hub's tables, public: the ORM classes and their column helpers, for the packages above
the hub (``auth``, ``connectors``, ``gateway``) and the tests.

A thin front over the private ``hub._tables*`` modules, which stay free to change shape; other
packages import tables from here, never from those modules."""

from hub._tables import (
    AdminSession,
    AdminUser,
    Agency,
    AgencySuccession,
    ApiKey,
    AuditEntry,
    Base,
    Client,
    HubLock,
    IdempotencyKey,
    JSONType,
    Record,
    RecordChange,
    RecordFacet,
    SigningKey,
    UsedAssertion,
    UTCDateTime,
    Vocabulary,
    VocabularyTerm,
    new_record_id,
    utcnow,
)
from hub._tables_connectors import (
    Connector,
    ConnectorCheckpoint,
    ConnectorKey,
    ConnectorRun,
    ConnectorSeen,
)
from hub._tables_delivery import DeadLetter, DeliveryAttempt, Subscription
from hub._tables_files import ArchiveOverdueNotice, FileUpload, RecordFile, StoredFile

__all__ = [
    "AdminSession",
    "AdminUser",
    "Agency",
    "AgencySuccession",
    "ApiKey",
    "ArchiveOverdueNotice",
    "AuditEntry",
    "Base",
    "Client",
    "Connector",
    "ConnectorCheckpoint",
    "ConnectorKey",
    "ConnectorRun",
    "ConnectorSeen",
    "DeadLetter",
    "DeliveryAttempt",
    "FileUpload",
    "HubLock",
    "IdempotencyKey",
    "JSONType",
    "Record",
    "RecordChange",
    "RecordFacet",
    "RecordFile",
    "SigningKey",
    "StoredFile",
    "Subscription",
    "UTCDateTime",
    "UsedAssertion",
    "Vocabulary",
    "VocabularyTerm",
    "new_record_id",
    "utcnow",
]
