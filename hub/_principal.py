"""Who is calling: every request and job acts as one principal."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: a client of an agency (or an admin user), with scopes.

    ``agency`` owns every record the principal writes. ``channel`` records how the data came
    in (push, pull, file, graphql) for provenance. ``kind`` says how it authenticated
    ("client" by OAuth2 token, "api_key", "admin" user, "dev" from settings, "system" for the
    hub's own jobs); ``role`` is "hub_admin" or "agency_admin" for admin users.
    """

    client_id: str
    agency: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    channel: str = "push"
    kind: str = "client"
    role: str | None = None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def via(self, channel: str) -> Principal:
        return replace(self, channel=channel)
