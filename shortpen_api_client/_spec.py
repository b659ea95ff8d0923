"""Recorded by ``make regen`` (scripts/regen.py) from openapi.yaml; do not edit."""

SPEC_VERSION = "1.0.0"
SPEC_SHA256 = "4e49eefebba2c15a64a6c1d198e8d8f784b0f27cd1f74b906a97a7d51b6dce11"
