"""Codes shown as words: the console never shows a raw code (``succeeded``, ``book``) where a
Vietnamese label exists.

Two sources, never a second copy of either:

* the data standard's vocabularies (``schemas/vocabularies/*.json``, through
  :func:`schemas.load_vocabulary_seed`): record kinds, themes, languages...;
* the console's own enumerations (run states, triggers, delivery and audit outcomes,
  auth types, pagination styles...): their codes come from where the hub defines them (the
  connectors' config models) or are the values the hub stores, and their words are ``_i18n``
  strings ``enum.<group>.<code>``; connector kinds (group ``conn_kind``) come with their
  words from the kinds' registry (``connectors.connector_kinds``).

An unknown code is shown as it is (an old row, a term added later), never as an error.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, get_args

from markupsafe import Markup, escape

import connectors
import schemas
from connectors import DATE_FORMATS
from gateway.console._i18n import STRINGS
from hub import InvalidInput
from hub.archive import ROLES


# The vocabulary of each record type's "kind" field (products -> product_kind...).
def kind_vocabulary(record_type: str) -> str | None:
    rt = schemas.RECORD_TYPES.get(record_type)
    if rt is None or rt.kind_field is None:
        return None
    return rt.model.VOCAB_FIELDS.get(rt.kind_field)


def _literal(model: type[Any], field: str) -> tuple[str, ...]:
    annotation = model.model_fields[field].annotation
    args = get_args(annotation)
    # Optional[Literal[...]] -> the Literal's values
    values: list[str] = []
    for arg in args or (annotation,):
        inner = get_args(arg)
        values.extend(v for v in (inner or (arg,)) if isinstance(v, str))
    return tuple(values)


# group -> the codes, in the order a select lists them.
ENUMS: dict[str, tuple[str, ...]] = {
    "run_status": ("running", "succeeded", "failed", "interrupted"),
    "run_trigger": ("manual", "schedule"),
    "run_kind": ("pull", "reconcile"),
    "delivery_outcome": ("delivered", "failed", "dead_lettered"),
    "dead_status": ("dead", "redeliver", "redelivered"),
    "audit_outcome": ("ok", "failed", "denied", "refused", "delivered"),
    "actor_kind": ("admin", "client", "api_key", "dev", "system", "anonymous"),
    # the kinds the reference registry is seeded with (hub/seed/*.csv); a hub admin may type
    # another, which is then shown as it is
    "agency_kind": ("ministry", "ministry-level", "government-agency", "party-body",
                    "province", "city"),
    "auth_type": _literal(connectors.AuthConfig, "type"),
    "auth_method": _literal(connectors.AuthConfig, "method"),
    "pagination_style": _literal(connectors.Pagination, "style"),
    "date_format": tuple(DATE_FORMATS),
    "visibility": get_args(schemas.Visibility),
    "channel": ("push", "pull", "file", "connector", "graphql", "console"),
    "op": ("upsert", "delete"),
    "file_role": ROLES,
}

# A field of the admin API's bodies (hub.tables: ClientCreate, ApiKeyCreate, AdminUserCreate...)
# -> the _i18n key of the console's label for it: a body's complaint names the form's field.
FIELD_WORDS: dict[str, str] = {
    "agency": "common.agency",
    "name": "common.name",
    "client_id": "clients.client_id",
    "scopes": "clients.scopes",
    "auth_method": "clients.auth_method",
    "expires_at": "keys.expires_on",
    "username": "login.username",
    "password": "login.password",
    "display_name": "users.display_name",
    "role": "users.role",
    "active": "common.status",
}


def field_words(field: str, words: dict[str, str] | None = None) -> tuple[str, str]:
    """(Vietnamese, English) label of a body field; the field's name when it has none."""
    key = (words or {}).get(field) or FIELD_WORDS.get(field)
    return STRINGS.get(key or "", (field, field))


OK_STATES = frozenset({"succeeded", "ok", "delivered", "redelivered"})
BUSY_STATES = frozenset({"running", "redeliver", "queued"})


def label(group: str, code: object, lang: str = "vi") -> str:
    """The word for a console enumeration's code; the code itself when there is none. A
    connector kind's words are the kind's own (``connectors.ConnectorKind``)."""
    text = "" if code is None else str(code)
    if group == "conn_kind":
        kind = connectors.find_kind(text)
        return text if kind is None else kind.label(lang)
    pair = STRINGS.get(f"enum.{group}.{text}")
    if pair is None:
        return text
    return pair[1] if lang == "en" else pair[0]


@cache
def _terms() -> dict[str, dict[str, tuple[str, str]]]:
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for seed in schemas.load_vocabulary_seed():
        found[seed.vocabulary] = {t.code: (t.label_vi, t.label_en) for t in seed.terms}
    return found


def vocab_label(vocabulary: str | None, code: object, lang: str = "vi") -> str:
    """A vocabulary term's label (``book`` -> "Sách"); the code when it is not a term."""
    text = "" if code is None else str(code)
    pair = _terms().get(vocabulary or "", {}).get(text)
    if pair is None:
        return text
    return pair[1] if lang == "en" else pair[0]


def vocab_choices(vocabulary: str, lang: str = "vi") -> list[tuple[str, str]]:
    terms = _terms().get(vocabulary, {})
    return [(code, pair[1] if lang == "en" else pair[0]) for code, pair in terms.items()]


def choices(group: str, lang: str = "vi") -> list[tuple[str, str]]:
    return [(code, label(group, code, lang)) for code in ENUMS[group]]


def kind_choices(lang: str = "vi") -> list[tuple[str, str]]:
    """The registered connector kinds, in their order, with their words."""
    return [(k.name, k.label(lang)) for k in connectors.connector_kinds()]


def record_type_label(name: object, lang: str = "vi") -> str:
    rt = schemas.RECORD_TYPES.get(str(name))
    if rt is None:
        return str(name)
    return rt.label_en if lang == "en" else rt.label_vi


def valid_codes(pairs: list[tuple[str, str]]) -> str:
    """"book (Sách), ebook (Sách điện tử)": what an error message lists as the valid codes."""
    return ", ".join(f"{code} ({text})" if text and text != code else code
                     for code, text in pairs)


def tagged(text: str, code: object) -> Markup:
    """The label with its code as a tooltip (for admins), escaped."""
    if str(code) == text:
        return escape(text)
    return Markup('<span title="{}">{}</span>').format(str(code), text)


def record_type_choices(lang: str = "vi") -> list[tuple[str, str]]:
    return [(name, record_type_label(name, lang)) for name in schemas.RECORD_TYPES]


def refuse(what_vi: str, what_en: str, value: object,
           options: str | list[tuple[str, str]] | Callable[[str], list[tuple[str, str]]]
           ) -> InvalidInput:
    """The error for a code that is not one of ``options`` (an ``ENUMS`` group, or a
    function of the language giving (code, label) pairs): it lists the valid codes with
    their words, in each language."""

    def listed(lang: str) -> str:
        if isinstance(options, str):
            return valid_codes(choices(options, lang))
        if callable(options):
            return valid_codes(options(lang))
        return valid_codes(options)

    shown = str(value)[:60]
    return InvalidInput(
        f"{what_vi} '{shown}' không hợp lệ; chọn một trong: {listed('vi')}.",
        f"Invalid {what_en} '{shown}'; use one of: {listed('en')}.",
    )
