"""Who is calling: every request and job acts as one principal."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: a client of an agency, with scopes.

    ``agency`` owns every record the principal writes. ``channel`` records how the data came
    in (push, pull, file, graphql) for provenance.
    """

    client_id: str
    agency: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    channel: str = "push"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def via(self, channel: str) -> Principal:
        return Principal(self.client_id, self.agency, self.scopes, channel)
