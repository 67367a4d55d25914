"""The connectors package exposes its services through ``__init__`` only."""

from __future__ import annotations

import connectors

PULL_NAMES = {
    "AuthConfig", "BreakerOptions", "ConnectorError", "ConnectorInfo", "FieldSpec",
    "HttpOptions", "HubFeedConfig", "Incremental", "KeySweep", "MappingSpec", "Pagination",
    "RestConfig", "RetryPolicy", "Secrets", "SimOptions", "StreamConfig", "UpstreamFailed",
    "Worker",
    "apply_mapping", "check_connector", "check_outbound_url", "create_connector",
    "create_simulator", "decode_tcvn3", "decode_vni", "delete_connector",
    "demo_connector_config", "encode_tcvn3", "encode_vni", "get_connector", "list_connectors",
    "list_runs", "preview_connector", "reconcile_connector", "request_run", "run_connector",
    "run_info", "to_unicode", "update_connector",
}


def test_public_names_pinned() -> None:
    # The pull connectors' names; the deliveries (same package) add their own.
    assert set(connectors.__all__) >= PULL_NAMES
    for name in connectors.__all__:
        assert hasattr(connectors, name), name
