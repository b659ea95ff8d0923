"""The README's "Testing your service against a fake ShortPen" examples run as written."""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

from ..conftest import ROOT


def fake_examples() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [block for block in blocks if "FakeShortPen" in block]


def test_readme_has_a_sync_and_an_async_example() -> None:
    examples = fake_examples()
    assert len(examples) == 2
    assert "ShortPen(" in examples[0]
    assert "httpx.Client(" in examples[0]
    assert "AsyncShortPen(" in examples[1]


def test_readme_examples_run() -> None:
    for example in fake_examples():
        namespace: dict[str, Any] = {}
        exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 - our own README's code
        tests = [value for name, value in namespace.items() if name.startswith("test_")]
        assert tests
        for test in tests:
            result = test()
            if inspect.iscoroutine(result):
                asyncio.run(result)
