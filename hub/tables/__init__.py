"""The central database's tables, all on one ``MetaData`` (SQLModel's): the hub's public front
for them, for the hub's own modules, the packages above it (``auth``, ``connectors``,
``gateway``), Alembic and the tests. The modules behind it are private and free to change shape.

Two kinds (docs/data-model.md):

* **SQLModel entities**, the tables that are also API objects, one module each: agencies
  (``_registry``), clients, API keys, admin users, connectors, subscriptions with their delivery
  attempts and dead letters, stored files. Beside each one the admin API shows, as in the
  FastAPI full-stack template: ``XBase`` (the fields shared), the table ``X(XBase, table=True)``,
  ``XPublic(XBase)`` (what admins see, never a secret or its hash) and the ``XCreate``/``XUpdate``
  bodies (strict: hub/_bodies.py).
* **Engine tables** (``Base``, declarative SQLAlchemy on the same metadata): records, facets, the
  change log, locks, idempotency keys, sessions, keys, audit and the workers' state. Their hot
  paths use ``__table__`` and Core (hub/_bulk.py: ``COPY`` on PostgreSQL), where an object per
  row would only cost.

Importing this package registers every table on the metadata: no module needs another's
import for its side effect.
"""

from hub.tables._admin_user import (
    AdminSession,
    AdminUser,
    AdminUserBase,
    AdminUserCreate,
    AdminUserPublic,
    AdminUserUpdate,
)
from hub.tables._api_key import (
    ApiKey,
    ApiKeyBase,
    ApiKeyCreate,
    ApiKeyPublic,
    ApiKeyRotate,
)
from hub.tables._client import (
    Client,
    ClientBase,
    ClientCreate,
    ClientPublic,
    ClientUpdate,
)
from hub.tables._connector import (
    Connector,
    ConnectorBase,
    ConnectorCheckpoint,
    ConnectorKey,
    ConnectorPublic,
    ConnectorRun,
    ConnectorSeen,
)
from hub.tables._files import (
    ArchiveOverdueNotice,
    FileUpload,
    RecordFile,
    StoredFile,
)
from hub.tables._records import (
    HubLock,
    IdempotencyKey,
    Record,
    RecordChange,
    RecordFacet,
)
from hub.tables._registry import (
    Agency,
    AgencyBase,
    AgencyCreate,
    AgencyLevel,
    AgencyPublic,
    AgencySuccession,
    AgencyUpdate,
    SuccessorIn,
    SuccessorOut,
    Vocabulary,
    VocabularyTerm,
)
from hub.tables._security import (
    AuditEntry,
    SigningKey,
    UsedAssertion,
)
from hub.tables._subscription import (
    DeadLetter,
    DeadLetterBase,
    DeadLetterPublic,
    DeadLetterStatus,
    DeliveryAttempt,
    DeliveryAttemptBase,
    DeliveryAttemptPublic,
    DeliveryOutcome,
    Subscription,
    SubscriptionBase,
    SubscriptionCreate,
    SubscriptionPublic,
    SubscriptionUpdate,
)
from hub.tables._types import (
    AuthMethod,
    AutoId,
    Base,
    JSONType,
    Role,
    Scope,
    UTCDateTime,
    new_record_id,
    utcnow,
)

__all__ = [
    "AdminSession",
    "AdminUser",
    "AdminUserBase",
    "AdminUserCreate",
    "AdminUserPublic",
    "AdminUserUpdate",
    "Agency",
    "AgencyBase",
    "AgencyCreate",
    "AgencyLevel",
    "AgencyPublic",
    "AgencySuccession",
    "AgencyUpdate",
    "ApiKey",
    "ApiKeyBase",
    "ApiKeyCreate",
    "ApiKeyPublic",
    "ApiKeyRotate",
    "ArchiveOverdueNotice",
    "AuditEntry",
    "AuthMethod",
    "AutoId",
    "Base",
    "Client",
    "ClientBase",
    "ClientCreate",
    "ClientPublic",
    "ClientUpdate",
    "Connector",
    "ConnectorBase",
    "ConnectorCheckpoint",
    "ConnectorKey",
    "ConnectorPublic",
    "ConnectorRun",
    "ConnectorSeen",
    "DeadLetter",
    "DeadLetterBase",
    "DeadLetterPublic",
    "DeadLetterStatus",
    "DeliveryAttempt",
    "DeliveryAttemptBase",
    "DeliveryAttemptPublic",
    "DeliveryOutcome",
    "FileUpload",
    "HubLock",
    "IdempotencyKey",
    "JSONType",
    "Record",
    "RecordChange",
    "RecordFacet",
    "RecordFile",
    "Role",
    "Scope",
    "SigningKey",
    "StoredFile",
    "Subscription",
    "SubscriptionBase",
    "SubscriptionCreate",
    "SubscriptionPublic",
    "SubscriptionUpdate",
    "SuccessorIn",
    "SuccessorOut",
    "UTCDateTime",
    "UsedAssertion",
    "Vocabulary",
    "VocabularyTerm",
    "new_record_id",
    "utcnow",
]
