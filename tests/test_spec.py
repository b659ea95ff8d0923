"""The vendored spec and what was recorded from it at generation time."""

from __future__ import annotations

import hashlib

import yaml

import shortpen_api_client
from shortpen_api_client import _spec

from .conftest import SPEC_PATH


def test_spec_version_is_the_specs_info_version() -> None:
    spec = yaml.safe_load(SPEC_PATH.read_bytes())
    assert spec["info"]["version"] == shortpen_api_client.SPEC_VERSION


def test_openapi_yaml_was_not_edited_without_make_regen() -> None:
    digest = hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest()
    assert digest == _spec.SPEC_SHA256, (
        "openapi.yaml changed since the client was generated: run `make regen` and commit the result"
    )


def test_spec_has_the_one_documented_operation() -> None:
    spec = yaml.safe_load(SPEC_PATH.read_bytes())
    assert list(spec["paths"]) == ["/v1/analytics"]
    assert list(spec["paths"]["/v1/analytics"]) == ["post"]
    assert spec["paths"]["/v1/analytics"]["post"]["operationId"] == "getAnalytics"
