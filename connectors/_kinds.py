"""Connector kinds: the one extension point for what a connector pulls from.

A kind is one module that builds a :class:`ConnectorKind` and calls :func:`register_kind` when
it is imported (``connectors/__init__`` imports the kinds the hub ships). Everything that used
to ask "which kind is this?" asks the registry instead:

* the store validates a definition with :func:`parse_config`, through the discriminated
  union of the registered kinds' config models (``kind`` is the discriminator);
* the runner calls the kind's ``run``; the services its ``check`` and ``preview``;
* the admin API takes the registered names as ``kind``; the console shows the kind's words,
  the secrets it uses and the JSON a new definition starts from.

Adding a kind touches only its own module (plus its import in ``connectors/__init__``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args

from pydantic import Field, TypeAdapter, ValidationError

from connectors._config import SECRET_NAMES, ConnectorConfig

if TYPE_CHECKING:
    from connectors._runs import Connection, RunContext
    from hub import Hub

RunFn = Callable[["RunContext", bool], Awaitable[None]]
"""Pull once: ``(ctx, full)``, every page through ``ctx.ingest`` (see ``_runs``)."""
CheckFn = Callable[["Hub", "Connection"], Awaitable[dict[str, Any]]]
"""``{"ok": bool, "steps": [{"step", "ok", "ms" | message_vi/en}...]}``; never raises for an
unreachable source (the steps say so)."""
PreviewFn = Callable[["Hub", "Connection"], Awaitable[dict[str, Any]]]
"""``{"connector": id, "streams": [...]}``, a dry run: nothing is written."""


@dataclass(frozen=True, slots=True)
class ConnectorKind:
    """What the hub needs to know of one kind of connector."""

    name: str  # the discriminator: ``kind`` of the API, the database row and the config
    config: type[ConnectorConfig]  # its ``kind`` field is ``Literal[name]``
    run: RunFn
    check: CheckFn
    label_vi: str
    label_en: str
    preview: PreviewFn | None = None  # None: preview is refused with ``no_preview_*``
    no_preview_vi: str = "Loại connector này không có xem trước."
    no_preview_en: str = "This kind of connector has no preview."
    # The sealed secrets the kind's definitions may use (the console offers these fields).
    secrets: tuple[str, ...] = SECRET_NAMES
    # Where the console's JSON tab starts for a new connector of this kind.
    new_config: dict[str, Any] = field(default_factory=dict)
    order: int = 100  # place in lists (the API's enum, the console's select)
    # What else the kind's connectors take part in: "bundles" (offline exchange bundles of
    # the peer they follow, ``connectors._bundle``).
    features: frozenset[str] = frozenset()

    def label(self, lang: str = "vi") -> str:
        return self.label_en if lang == "en" else self.label_vi


_KINDS: dict[str, ConnectorKind] = {}


def register_kind(kind: ConnectorKind) -> ConnectorKind:
    """Make ``kind`` known (at import of its module). Registering a name twice is a bug,
    unless it is the same kind again (a module imported twice)."""
    tags = get_args(kind.config.model_fields["kind"].annotation)
    if tags != (kind.name,):
        raise TypeError(f"{kind.config.__name__}.kind must be Literal[{kind.name!r}]")
    known = _KINDS.get(kind.name)
    if known is not None and known != kind:
        raise ValueError(f"connector kind {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    _union.cache_clear()
    return kind


def unregister_kind(name: str) -> None:
    _KINDS.pop(name, None)
    _union.cache_clear()


@contextmanager
def registered(kind: ConnectorKind) -> Iterator[ConnectorKind]:
    """``kind`` registered for the duration of a block (tests)."""
    register_kind(kind)
    try:
        yield kind
    finally:
        unregister_kind(kind.name)


def connector_kinds() -> list[ConnectorKind]:
    return sorted(_KINDS.values(), key=lambda k: (k.order, k.name))


def kind_names() -> tuple[str, ...]:
    return tuple(k.name for k in connector_kinds())


def find_kind(name: str) -> ConnectorKind | None:
    return _KINDS.get(name)


def connector_kind(name: str) -> ConnectorKind:
    """The registered kind, or ``ValueError("unknown connector kind ...")`` (a 400 where the
    store reports it)."""
    kind = _KINDS.get(name)
    if kind is None:
        raise ValueError(f"unknown connector kind {name!r}")
    return kind


@cache
def _union() -> TypeAdapter[ConnectorConfig]:
    models = tuple(k.config for k in connector_kinds())
    member: Any = models[0] if len(models) == 1 else Union[models]  # noqa: UP007
    return TypeAdapter(Annotated[member, Field(discriminator="kind")])


def config_union() -> TypeAdapter[ConnectorConfig]:
    """The discriminated union of every registered kind's config (``kind`` the tag)."""
    return _union()


def parse_config(kind: str, data: object) -> ConnectorConfig:
    """A definition of kind ``kind``. The config names its kind too (``"kind"``, defaulting
    to ``kind``): one naming another kind is refused at ``kind``, as the kind's own model
    does. A ``ValidationError`` is located in the config (not under the union's tag)."""
    spec = connector_kind(kind)
    if not isinstance(data, dict) or data.get("kind", kind) != kind:
        return spec.config.model_validate(data)  # the model's own complaint
    try:
        return config_union().validate_python({**data, "kind": kind})
    except ValidationError:
        # The same complaint, located in the config rather than under the union's tag.
        spec.config.model_validate(data)
        raise
