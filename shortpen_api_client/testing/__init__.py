"""A spec-faithful fake of ShortPen's analytics API, for this project's tests and for yours.

::

    from shortpen_api_client.testing import FakeShortPen, Fault, FaultPlan

    fake = FakeShortPen(seed=1, faults=FaultPlan({1: Fault.rate_limit(retry_after=2)}))
    with httpx.Client(transport=fake.transport(), base_url="https://api.shortpen.com") as http:
        ...                                   # in-process, sync or async
    with fake.serve() as base_url:            # or on a real loopback socket
        ...

    FakeShortPen(shape="realistic", timezone="Europe/Berlin")  # data shaped like a real server's

See :class:`FakeShortPen` for the account, its data (derived from the spec) and its choices, and
:class:`Fault` for the faults.
"""

from ._fake import FakeShortPen, RecordedRequest
from ._faults import Fault, FaultKind, FaultPlan
from ._limits import RateLimit

__all__ = ["FakeShortPen", "Fault", "FaultKind", "FaultPlan", "RateLimit", "RecordedRequest"]
