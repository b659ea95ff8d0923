"""``shortpen_api_client/_schema_derive.py`` for the scripts, loaded from its file, not through the package.

Importing ``shortpen_api_client._schema_derive`` runs the package's ``__init__``, which imports the
generated models and checks them against ``_spec.py`` (``_schema._check_models``). When they are out
of step, or a generated file is missing after an interrupted regeneration (the very cases ``make
regen`` and ``make check-regen`` exist for), the scripts would fail before they could repair or report
anything. The derivation imports only the standard library and attrs, so it is loaded here by path,
once per process, as the module ``shortpen_schema_derive``; to mypy, the names are the package's.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

PATH = Path(__file__).resolve().parent.parent / "shortpen_api_client" / "_schema_derive.py"
MODULE = "shortpen_schema_derive"


def load() -> ModuleType:
    """The derivation module, executed from ``PATH`` the first time."""
    module = sys.modules.get(MODULE)
    if module is None:
        spec = importlib.util.spec_from_file_location(MODULE, PATH)
        if spec is None or spec.loader is None:  # pragma: no cover - a .py path always has a loader
            raise ImportError(f"cannot load {PATH}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE] = module  # registered first, as an import does (attrs looks classes up there)
        spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from shortpen_api_client._schema_derive import SUPPORTED, Derived, Field, SchemaError, derive
else:
    _module = load()
    SUPPORTED, Derived, Field, SchemaError, derive = (
        _module.SUPPORTED,
        _module.Derived,
        _module.Field,
        _module.SchemaError,
        _module.derive,
    )

__all__ = ["SUPPORTED", "Derived", "Field", "SchemaError", "derive", "load"]
