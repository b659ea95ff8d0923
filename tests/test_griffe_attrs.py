"""The griffe extension that gives attrs classes their constructor (scripts/griffe_attrs.py)."""

from __future__ import annotations

import sys

import griffe

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from griffe_attrs import AttrsInit  # a script, not a package: imported from its folder

SOURCE = """
import attrs
from attrs import define as _attrs_define
from attrs import field as _attrs_field


@_attrs_define
class Model:
    id: int
    note: str | None = None
    tags: list[str] = _attrs_field(factory=list)
    extra: dict[str, object] = _attrs_field(init=False, factory=dict)
    _secret: str = "x"
    LIMIT = 3

    @property
    def size(self) -> int:
        return 1


@attrs.frozen(kw_only=True)
class Report:
    path: str
    rows: int = attrs.field(default=0)


@attrs.define
class Child(Model):
    depth: int = 1


class Plain:
    value: int = 0
"""


def signature(code: str, path: str) -> list[tuple[str, str, str | None]]:
    with griffe.temporary_visited_package(
        "pkg", {"__init__.py": code}, extensions=griffe.load_extensions(AttrsInit)
    ) as package:
        init = package[f"{path}.__init__"]
        return [
            (p.name, p.kind.value, None if p.default is None else str(p.default))
            for p in init.parameters
            if p.name != "self"
        ]


def test_fields_in_order_with_defaults_and_without_init_false() -> None:
    assert signature(SOURCE, "Model") == [
        ("id", "positional or keyword", None),
        ("note", "positional or keyword", "None"),
        ("tags", "positional or keyword", "list()"),
        ("secret", "positional or keyword", "'x'"),  # attrs drops the leading underscore
    ]


def test_kw_only_and_field_default() -> None:
    assert signature(SOURCE, "Report") == [
        ("path", "keyword-only", None),
        ("rows", "keyword-only", "0"),
    ]


def test_base_class_fields_come_first() -> None:
    assert [name for name, _, _ in signature(SOURCE, "Child")] == ["id", "note", "tags", "secret", "depth"]


def test_plain_classes_are_left_alone() -> None:
    with griffe.temporary_visited_package(
        "pkg", {"__init__.py": SOURCE}, extensions=griffe.load_extensions(AttrsInit)
    ) as package:
        assert "__init__" not in package["Plain"].members


def test_a_changed_default_is_a_breakage() -> None:
    extensions = griffe.load_extensions(AttrsInit)
    with (
        griffe.temporary_visited_package("pkg", {"__init__.py": SOURCE}, extensions=extensions) as old,
        griffe.temporary_visited_package(
            "pkg",
            {"__init__.py": SOURCE.replace("note: str | None = None", "note: str | None = ''")},
            extensions=griffe.load_extensions(AttrsInit),
        ) as new,
    ):
        kinds = [b.kind.value for b in griffe.find_breaking_changes(old, new)]
    assert "Parameter default was changed" in kinds
