"""``shortpen_api_client.testing.__all__``: sorted, complete, importable; orjson only a speedup."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types

from shortpen_api_client import testing

from .conftest import PATH, WEEK, client_for


def test_all_is_sorted_and_complete() -> None:
    assert testing.__all__ == sorted(testing.__all__)
    public = {
        name
        for name, value in vars(testing).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(testing.__all__)
    for name in testing.__all__:
        assert getattr(testing, name).__module__.startswith("shortpen_api_client.testing.")


def test_the_fake_serves_the_same_bytes_without_orjson() -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["orjson"] = None  # blocks the import
        import httpx
        from shortpen_api_client.testing import FakeShortPen, _json
        assert _json.dumps.__module__ == "shortpen_api_client.testing._json"
        fake = FakeShortPen(seed=4)
        headers = {{"Authorization": "Bearer " + fake.token}}
        with httpx.Client(transport=fake.transport(), base_url="https://x", headers=headers) as http:
            sys.stdout.buffer.write(http.post({PATH!r}, json={WEEK!r}).content)
        """
    )
    without = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True).stdout
    with client_for(testing.FakeShortPen(seed=4)) as http:
        assert without == http.post(PATH, json=WEEK).content
