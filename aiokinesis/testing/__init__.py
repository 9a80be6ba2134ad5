"""aiokinesis.testing: a local Kinesis for tests that enforces AWS's limits and injects faults.

    async with KinesisServer(streams={"orders": 4}) as server:
        server.inject(Fault(kind=FaultKind.THROTTLE, operation="GetRecords", times=3))
        async with aiokinesis.Client(endpoint_url=server.endpoint_url, ...) as kinesis: ...

Also a pytest fixture (`kinesis_server`, from the plugin installed with aiokinesis) and a
command: `python -m aiokinesis.testing --port 4568 --stream orders:4`.
"""

from ._backend import Backend
from ._faults import Fault, FaultKind
from ._limits import Limits
from ._server import KinesisServer, serve_in_thread
from ._state import ApiError
from ._transitions import StateDurations

__all__ = ["ApiError", "Backend", "Fault", "FaultKind", "KinesisServer", "Limits", "StateDurations", "serve_in_thread"]
