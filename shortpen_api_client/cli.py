"""The ``shortpen`` command: ``export``, ``sync``, ``demo`` and ``fake-server``.

It needs the ``cli`` extra (click and rich): ``pip install "shortpen-api-client[cli]"``. The token
comes from ``SHORTPEN_TOKEN`` only (a command-line argument would show in ``ps`` and shell history).
Exit status: 0 on success, 2 on bad usage or input, 1 when the API (or talking to it) fails.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``shortpen`` console script."""
    try:
        from ._cli import run
    except ImportError as exc:
        sys.stderr.write(
            f"shortpen: error: the shortpen command needs the cli extra ({exc.name} is missing): "
            'pip install "shortpen-api-client[cli]"\n'
        )
        return 2
    return run(argv)


if __name__ == "__main__":
    raise SystemExit(main())
