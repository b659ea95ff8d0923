"""A griffe extension that gives attrs classes the ``__init__`` attrs writes for them.

griffe reads source statically: an ``@attrs.define`` class has no ``__init__`` in its source, so
``griffe check`` would see no constructor and miss the breaks services feel first (a parameter
removed, made required, moved, or its default changed, e.g. ``UNSET`` -> ``None`` in the generated
models). griffe's built-in ``dataclasses`` extension does this for dataclasses; this one does it for
attrs: the annotated attributes in order (base classes first), ``field(init=False)`` left out,
``field(default=...)`` / ``field(factory=...)`` as defaults, ``kw_only`` honoured, a leading underscore
dropped from the parameter's name, as attrs does.
"""

from __future__ import annotations

from typing import Any, Final

import griffe

DECORATORS: Final = frozenset(
    f"{module}.{name}"
    for module in ("attrs", "attr")
    for name in ("define", "frozen", "mutable", "s", "attrs", "dataclass")
)
FIELDS: Final = frozenset({"attrs.field", "attr.field", "attr.ib", "attr.attrib"})


def _decorator(cls: griffe.Class) -> griffe.Expr | None:
    for decorator in cls.decorators:
        value = decorator.value
        if isinstance(value, griffe.Expr) and value.canonical_path in DECORATORS:
            return value
    return None


def _keywords(expr: object) -> dict[str, Any]:
    if not isinstance(expr, griffe.ExprCall):
        return {}
    return {a.name: a.value for a in expr.arguments if isinstance(a, griffe.ExprKeyword)}


def _own_parameters(cls: griffe.Class, kw_only: bool) -> list[griffe.Parameter]:
    parameters = []
    for member in cls.members.values():
        if member.is_alias or not member.is_attribute:
            continue
        attribute: griffe.Attribute = member  # type: ignore[assignment]  # is_attribute says so
        if attribute.annotation is None or "instance-attribute" not in attribute.labels:
            continue  # ClassVar, properties, plain class constants
        value = attribute.value
        options: dict[str, Any] = {}
        default: str | griffe.Expr | None = value
        if isinstance(value, griffe.ExprCall) and value.canonical_path in FIELDS:
            options = _keywords(value)
            if options.get("init") == "False":
                continue
            default = options.get("default")
            if "factory" in options:
                default = griffe.ExprCall(function=options["factory"], arguments=[])
        keyword = kw_only or options.get("kw_only") == "True"
        parameters.append(
            griffe.Parameter(
                attribute.name.lstrip("_") or attribute.name,
                annotation=attribute.annotation,
                kind=griffe.ParameterKind.keyword_only
                if keyword
                else griffe.ParameterKind.positional_or_keyword,
                default=default,
            )
        )
    return parameters


def _set_init(cls: griffe.Class) -> None:
    decorator = _decorator(cls)
    if decorator is None or "__init__" in cls.members:
        return
    options = _keywords(decorator)
    if options.get("init") == "False":
        return
    parameters: dict[str, griffe.Parameter] = {}
    try:
        bases = [c for c in reversed(cls.mro()) if _decorator(c) is not None]
    except ValueError:
        bases = []
    for base in [*bases, cls]:
        base_kw_only = _keywords(_decorator(base)).get("kw_only") == "True"
        for parameter in _own_parameters(base, base_kw_only):
            parameters.pop(parameter.name, None)  # a redefined field takes its new place
            parameters[parameter.name] = parameter
    ordered = [p for p in parameters.values() if p.kind is not griffe.ParameterKind.keyword_only]
    ordered += [p for p in parameters.values() if p.kind is griffe.ParameterKind.keyword_only]
    init = griffe.Function(
        "__init__",
        lineno=cls.lineno,
        endlineno=cls.lineno,
        parent=cls,
        parameters=griffe.Parameters(
            griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword), *ordered
        ),
        returns="None",
    )
    cls.set_member("__init__", init)


def _walk(obj: griffe.Module | griffe.Class, seen: set[str]) -> None:
    if obj.path in seen:
        return
    seen.add(obj.path)
    if isinstance(obj, griffe.Class):
        _set_init(obj)
    for member in obj.members.values():
        if not member.is_alias and isinstance(member, griffe.Module | griffe.Class):
            _walk(member, seen)


class AttrsInit(griffe.Extension):
    """Adds the attrs-generated ``__init__`` to every attrs class of a loaded package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        _walk(pkg, set())
