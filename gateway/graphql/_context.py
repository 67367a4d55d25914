"""The typed context of one GraphQL request: the hub, the authenticated caller, the agency
registry as the request found it, and the DataLoaders (created here, per request, so no cache
outlives the request or crosses callers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.requests import Request

from auth import require_scope
from gateway.graphql._loaders import Loaders
from hub import AgencyGraph, Hub, Principal


@dataclass(slots=True)
class Context:
    hub: Hub
    principal: Principal
    graph: AgencyGraph
    request: Request | None = None
    today: date = field(default_factory=date.today)
    _loaders: Loaders | None = None

    def require(self, scope: str) -> None:
        """The one policy (auth._policy): a 403-style GraphQL error without ``scope``."""
        require_scope(self.principal, scope)

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self.hub, self.principal, self.graph)
        return self._loaders

    def __getitem__(self, key: str) -> Any:  # Strawberry's views read context["request"]
        return getattr(self, key)
