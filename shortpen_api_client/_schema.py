"""The spec's two schemas as this package uses them, derived from the vendored spec: the one place
outside ``_generated/`` that knows field names, their order and their types.

``EVENT`` is ``AnalyticsEvent`` (what the 200 response's ``data`` holds) and ``REQUEST`` is
``AnalyticsRequest`` (the request body), each a tuple of :class:`Field` in the spec's order. Both are
found by following the one operation (``POST /v1/analytics``) through its ``$ref``\\ s in
``_spec.SPEC`` (``openapi.yaml`` as data, recorded by ``make regen``) with :func:`derive`
(``_schema_derive.py``: the derivation itself, free of side effects, which the regen scripts load on
its own), and checked against the generated models at import: each attribute's name, required-ness
and type (``Field.python_type``). A mismatch means ``_generated/`` and ``_spec.py`` were not
regenerated together, or a generated file was edited: ``make regen`` repairs it.

Everything else reads from here: the CSV header and the Arrow/Parquet schema (:func:`arrow_type`),
the model builder (``_decode``), the fake's data and request validation, the CLI's summary. A
property added to ``openapi.yaml`` reaches all of them after ``make regen``, with no other edit. The
types a field may have, and the shapes refused at ``make regen``, are listed in ``_schema_derive.py``.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Final

import attrs

from ._schema_derive import PYTHON_TYPES, TIMESTAMP, Derived, Field, SchemaError, derive, fields_of
from ._spec import SPEC

__all__ = [
    "BY_NAME",
    "EVENT",
    "EVENT_NAMES",
    "METHOD",
    "PATH",
    "PYTHON_TYPES",
    "REQUEST",
    "TIMESTAMP",
    "Derived",
    "Field",
    "SchemaError",
    "arrow_type",
    "derive",
    "fields_of",
    "model_problems",
]

_DERIVED: Final = derive(SPEC)
PATH: Final = _DERIVED.path
METHOD: Final = _DERIVED.method
EVENT: Final = _DERIVED.event
"""``AnalyticsEvent``'s fields in the spec's order: the CSV header and the Parquet columns."""
REQUEST: Final = _DERIVED.request
"""``AnalyticsRequest``'s fields in the spec's order."""
EVENT_NAMES: Final = tuple(f.name for f in EVENT)
BY_NAME: Final = {f.name: f for f in EVENT}


def arrow_type(field: Field, pa: Any) -> Any:
    """The Arrow type of a column (``pa`` is the ``pyarrow`` module, imported by the caller)."""
    return {
        "int": pa.int64,
        "float": pa.float64,
        "bool": pa.bool_,
        "str": pa.string,
        "date": pa.date32,
        "datetime": lambda: pa.timestamp("us", tz="UTC"),
    }[field.kind]()


def model_problems(model: type, fields: tuple[Field, ...]) -> list[str]:
    """How a generated attrs model differs from the derived fields: a name missing or extra, a
    required-ness or an attribute type (``Field.python_type``) that is not the spec's; one line each."""
    attributes = {a.name: a for a in attrs.fields(model) if a.init}
    try:
        hints = typing.get_type_hints(model)
    except NameError as exc:  # an annotation naming a type the module does not import at run time
        return [f"its annotations cannot be read ({exc})"]
    problems = [f"`{name}` is not in the spec" for name in attributes if name not in {f.name for f in fields}]
    for field in fields:
        attribute = attributes.get(field.name)
        if attribute is None:
            problems.append(f"`{field.name}` is missing")
        elif (attribute.default is attrs.NOTHING) != field.required:
            problems.append(f"`{field.name}` is {'optional' if field.required else 'required'}")
        elif hints.get(field.name) != field.python_type:
            problems.append(
                f"`{field.name}` is typed {attribute.type}, the spec says {_type_name(field.python_type)}"
            )
    return problems


def _type_name(python_type: Any) -> str:
    """``int``, ``datetime.date``, ``str | None``: as the generated code writes it."""
    if isinstance(python_type, types.UnionType) or python_type.__module__ == "builtins":
        return str(python_type) if isinstance(python_type, types.UnionType) else python_type.__qualname__
    return f"{python_type.__module__}.{python_type.__qualname__}"


def _check_models() -> None:
    """The generated models hold exactly the derived fields (names, required ones, types)."""
    from ._generated.models import AnalyticsEvent, AnalyticsRequest

    for model, fields in ((AnalyticsEvent, EVENT), (AnalyticsRequest, REQUEST)):
        problems = model_problems(model, fields)
        if problems:
            raise RuntimeError(
                f"{model.__name__} in _generated/ does not match openapi.yaml as recorded in _spec.py "
                f"({'; '.join(problems)}): run `make regen` and commit both"
            )


_check_models()
