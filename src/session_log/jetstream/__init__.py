"""An eventsourcing persistence module for NATS JetStream.

Select it the library's standard way: ``PERSISTENCE_MODULE=session_log.jetstream``
(with ``NATS_URL`` and ``NATS_STREAM``). See docs/event-store.md.
"""

from .errors import (
    EventTooLargeError,
    InvalidOriginatorIdError,
    NotSentError,
    OutcomeUnknownError,
    PermissionDeniedError,
    UnfitStreamError,
)
from .factory import Factory, JetStreamFactory
from .recorders import (
    JetStreamAggregateRecorder,
    JetStreamApplicationRecorder,
    JetStreamProcessRecorder,
    JetStreamStream,
    JetStreamTrackingRecorder,
)
from .subjects import SubjectScheme

__all__ = [
    "EventTooLargeError",
    "Factory",
    "InvalidOriginatorIdError",
    "JetStreamAggregateRecorder",
    "JetStreamApplicationRecorder",
    "JetStreamFactory",
    "JetStreamProcessRecorder",
    "JetStreamStream",
    "JetStreamTrackingRecorder",
    "NotSentError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "SubjectScheme",
    "UnfitStreamError",
]
