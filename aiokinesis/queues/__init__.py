"""Queue consumers: a Kinesis queue's records as messages to handle, acknowledge or release.

`kinesis.queue_consumer("orders-work")` builds a QueueConsumer; see its module for the design.
"""

from ._deadletters import DeadLetterRecord, DeadLetters
from ._message import QueueClosedError, QueueEntryError, QueueMessage, QueueStats
from ._worker import QueueConsumer

__all__ = [
    "DeadLetterRecord",
    "DeadLetters",
    "QueueClosedError",
    "QueueConsumer",
    "QueueEntryError",
    "QueueMessage",
    "QueueStats",
]
