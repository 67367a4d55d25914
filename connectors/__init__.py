"""Outbound HTTP to agency systems: pull connectors (agency REST APIs, other hubs' change
feeds), the worker that runs them and the deliveries, and the reference agency simulator.

Routers, the console and the CLI call the services exported here; everything else is private.
The kinds of pull connector are registered in ``connectors._kinds``, each by its own module,
imported here (one line per kind).
"""

from connectors import _subscriptions as subscriptions
from connectors._bodies import ConnectorCreate, ConnectorUpdate, SecretsIn
from connectors._bundle import export_bundle, import_bundle, trusted_jwks
from connectors._bundle_format import Bundle, BundleManifest, BundleRefused, read_bundle
from connectors._config import (
    AuthConfig,
    BreakerOptions,
    ConnectorConfig,
    HttpConfig,
    HttpOptions,
    Incremental,
    KeySweep,
    OffOrigin,
    Pagination,
    RestConfig,
    RetryPolicy,
    Secrets,
    StreamConfig,
    check_outbound_url,
)
from connectors._delivery import backoff_seconds, deliver_pending, http_client
from connectors._http import ConnectorError, UpstreamFailed
from connectors._hub_feed import HubFeedConfig
from connectors._kinds import (
    ConnectorKind,
    config_union,
    connector_kind,
    connector_kinds,
    find_kind,
    kind_names,
    parse_config,
    register_kind,
    registered,
    unregister_kind,
)
from connectors._legacy_text import (
    Detection,
    decode_tcvn3,
    decode_vni,
    detect_legacy,
    encode_tcvn3,
    encode_vni,
    to_unicode,
)
from connectors._mapping import DATE_FORMATS, FieldSpec, MappingSpec, apply_mapping
from connectors._outbound import (
    OutboundPolicy,
    OutboundRefused,
    ResponseTooLarge,
    guarded_client,
    guarded_transport,
)
from connectors._outbox import event_id
from connectors._rekey import reseal_connector_secrets
from connectors._rest_kind import KIND as REST_KIND
from connectors._runs import Connection, RunContext, list_runs, run_info
from connectors._service import (
    check_connector,
    preview_connector,
    reconcile_connector,
    run_connector,
)
from connectors._signing import SIGNATURE_HEADER, sign_delivery, verify_delivery
from connectors._simulator import Faults, SimOptions, create_simulator, demo_connector_config
from connectors._store import (
    ConnectorInfo,
    create_connector,
    delete_connector,
    get_connector,
    list_connectors,
    request_run,
    update_connector,
)
from connectors._subscriptions import (
    CreatedSubscription,
    SubscriptionInfo,
    create_subscription,
    delete_subscription,
    get_subscription,
    list_dead_letters,
    list_deliveries,
    list_subscriptions,
    redeliver_dead_letters,
    replay_subscription,
    rotate_subscription_secret,
    update_subscription,
)
from connectors._worker import Worker, start_worker

__all__ = [
    "DATE_FORMATS",
    "REST_KIND",
    "SIGNATURE_HEADER",
    "AuthConfig",
    "BreakerOptions",
    "Bundle",
    "BundleManifest",
    "BundleRefused",
    "Connection",
    "ConnectorConfig",
    "ConnectorCreate",
    "ConnectorError",
    "ConnectorInfo",
    "ConnectorKind",
    "ConnectorUpdate",
    "CreatedSubscription",
    "Detection",
    "Faults",
    "FieldSpec",
    "HttpConfig",
    "HttpOptions",
    "HubFeedConfig",
    "Incremental",
    "KeySweep",
    "MappingSpec",
    "OffOrigin",
    "OutboundPolicy",
    "OutboundRefused",
    "Pagination",
    "ResponseTooLarge",
    "RestConfig",
    "RetryPolicy",
    "RunContext",
    "Secrets",
    "SecretsIn",
    "SimOptions",
    "StreamConfig",
    "SubscriptionInfo",
    "UpstreamFailed",
    "Worker",
    "apply_mapping",
    "backoff_seconds",
    "check_connector",
    "check_outbound_url",
    "config_union",
    "connector_kind",
    "connector_kinds",
    "create_connector",
    "create_simulator",
    "create_subscription",
    "decode_tcvn3",
    "decode_vni",
    "delete_connector",
    "delete_subscription",
    "deliver_pending",
    "demo_connector_config",
    "detect_legacy",
    "encode_tcvn3",
    "encode_vni",
    "event_id",
    "export_bundle",
    "find_kind",
    "get_connector",
    "get_subscription",
    "guarded_client",
    "guarded_transport",
    "http_client",
    "import_bundle",
    "kind_names",
    "list_connectors",
    "list_dead_letters",
    "list_deliveries",
    "list_runs",
    "list_subscriptions",
    "parse_config",
    "preview_connector",
    "read_bundle",
    "reconcile_connector",
    "redeliver_dead_letters",
    "register_kind",
    "registered",
    "replay_subscription",
    "request_run",
    "reseal_connector_secrets",
    "rotate_subscription_secret",
    "run_connector",
    "run_info",
    "sign_delivery",
    "start_worker",
    "subscriptions",
    "to_unicode",
    "trusted_jwks",
    "unregister_kind",
    "update_connector",
    "update_subscription",
    "verify_delivery",
]
