"""GraphQL types derived from the data standard's pydantic models (``schemas``), so a field
added to a record type appears in REST, GraphQL and the JSON Schemas from one definition.

Output types read the stored ``data`` dict as it is (see ``_resolve.default_resolver``): no
pydantic model is built per record. Input types mirror the same models; the mutations turn
them back into plain dicts and hand them to the one ingest pipeline, which validates them.
"""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
import strawberry
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

import schemas
from gateway.graphql._scalars import JSON, Date, DateTime, Long

INT32_MAX = 2**31 - 1


def type_name(record_type: schemas.RecordType) -> str:
    """``Product``, ``TrainingCourse``...: the content model's own name."""
    return record_type.model.__name__


def _fits_int32(info: FieldInfo | None, metadata: list[Any]) -> bool:
    found = list(metadata) + (list(info.metadata) if info is not None else [])
    for item in found:
        if isinstance(item, FieldInfo):
            found.extend(item.metadata)
    return any(isinstance(m, annotated_types.Le) and isinstance(m.le, int) and m.le <= INT32_MAX
               for m in found)


def _python_type(
    annotation: Any, info: FieldInfo | None, parts: dict[type[BaseModel], Any], *, small_ints: bool
) -> tuple[Any, bool]:
    """(annotation for Strawberry, nullable) for one pydantic field annotation."""
    metadata: list[Any] = []
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        annotation, *metadata = get_args(annotation)
        origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        inner, _ = _python_type(args[0] if len(args) == 1 else JSON, None, parts,
                                small_ints=small_ints)
        return inner, True
    if origin is list:
        (item,) = get_args(annotation)
        inner, _ = _python_type(item, None, parts, small_ints=small_ints)
        return list[inner], False  # type: ignore[valid-type]
    if origin is dict or annotation is dict:
        return JSON, False
    if origin is Literal:
        return str, False
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return parts[annotation], False
    if annotation is bool:
        return bool, False
    if annotation is int:
        return (int if small_ints or _fits_int32(info, metadata) else Long), False
    if annotation is float or annotation == (int | float):
        return float, False
    if annotation is datetime or annotation is AwareDatetime:
        return DateTime, False
    if annotation is date:
        return Date, False
    return str, False


def field_annotations(
    model: type[BaseModel],
    parts: dict[type[BaseModel], Any],
    *,
    skip: frozenset[str] = frozenset(),
    all_optional: bool = False,
    small_ints: bool = False,
) -> dict[str, Any]:
    """Field name -> Strawberry annotation, in the model's field order."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        annotation, nullable = _python_type(info.annotation, info, parts, small_ints=small_ints)
        if nullable or (all_optional and not info.is_required()):
            annotation = annotation | None
        out[name] = annotation
    return out


def _doc(model: type[BaseModel]) -> str | None:
    return (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else None


def output_part_types() -> dict[type[BaseModel], Any]:
    """Object types for the nested parts of records (Link, Material, Target, BudgetItem)."""
    parts: dict[type[BaseModel], Any] = {}
    for model in (schemas.Link, schemas.Material, schemas.Target, schemas.BudgetItem):
        annotations = field_annotations(model, parts)
        cls = type(model.__name__, (), {"__annotations__": annotations})
        parts[model] = strawberry.type(cls, description=_doc(model))
    return parts


def input_part_types() -> dict[type[BaseModel], Any]:
    parts: dict[type[BaseModel], Any] = {}
    for model in (schemas.Link, schemas.Material, schemas.Target, schemas.BudgetItem):
        annotations = field_annotations(model, parts)
        namespace: dict[str, Any] = {"__annotations__": annotations}
        for name, info in model.model_fields.items():
            if not info.is_required():
                namespace[name] = strawberry.UNSET
        cls = type(f"{model.__name__}Input", (), namespace)
        parts[model] = strawberry.input(cls, description=_doc(model))
    return parts


def record_input_type(record_type: schemas.RecordType, parts: dict[type[BaseModel], Any]) -> Any:
    """``ProductInput``...: the record as an agency sends it. Optional fields default to
    unset (not sent), so the pipeline applies the standard's own defaults."""
    model = record_type.model
    annotations = field_annotations(model, parts)
    namespace: dict[str, Any] = {"__annotations__": annotations}
    for name, info in model.model_fields.items():
        if not info.is_required():
            annotations[name] = annotations[name] | None
            namespace[name] = strawberry.UNSET
    cls = type(f"{type_name(record_type)}Input", (), namespace)
    return strawberry.input(cls, description=f"{record_type.label_en} ({record_type.label_vi}).")


def summary_types() -> tuple[Any, Any]:
    """``ImportSummary`` and ``Rejection``, from the same models REST documents."""
    rejection = strawberry.type(
        type("Rejection", (), {"__annotations__": field_annotations(
            schemas.Rejection, {}, small_ints=True)}),
        description=_doc(schemas.Rejection),
    )
    summary = strawberry.type(
        type("ImportSummary", (), {"__annotations__": field_annotations(
            schemas.ImportSummary, {schemas.Rejection: rejection}, small_ints=True)}),
        description=_doc(schemas.ImportSummary),
    )
    return summary, rejection


def input_to_data(value: Any) -> Any:
    """A Strawberry input object (or list of them) back to the plain JSON-like dict the
    pipeline takes: unset fields are left out, dates become ISO strings."""
    if isinstance(value, list):
        return [input_to_data(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is None:
        return value
    out = {}
    for name in fields:
        item = getattr(value, name)
        if item is strawberry.UNSET or item is None:
            continue
        out[name] = input_to_data(item)
    return out
