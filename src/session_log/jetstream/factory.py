"""The eventsourcing infrastructure factory for NATS JetStream."""

from __future__ import annotations

import re
import ssl
from typing import Any

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic, strtobool

from ._client import NATSBridge
from .recorders import (
    JetStreamAggregateRecorder,
    JetStreamApplicationRecorder,
    JetStreamProcessRecorder,
    JetStreamStream,
    JetStreamTrackingRecorder,
)
from .stream_config import StreamSpec
from .subjects import SubjectScheme


def default_stream_name(application_name: str) -> str:
    """A stream name derived from an application name ("eventsourcing" if none)."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", application_name)[:40]
    return cleaned or "eventsourcing"


class JetStreamFactory(InfrastructureFactory[TrackingRecorder]):
    """Recorders on NATS JetStream, configured by environment keys.

    Keys honour eventsourcing's application-name prefixing (``MYAPP_NATS_URL``
    before ``NATS_URL``).
    """

    NATS_URL = "NATS_URL"
    NATS_STREAM = "NATS_STREAM"
    NATS_TIMEOUT = "NATS_TIMEOUT"
    NATS_CONNECT_TIMEOUT = "NATS_CONNECT_TIMEOUT"
    NATS_USER = "NATS_USER"
    NATS_PASSWORD = "NATS_PASSWORD"
    NATS_TOKEN = "NATS_TOKEN"
    NATS_CREDS = "NATS_CREDS"
    NATS_NKEY_SEED = "NATS_NKEY_SEED"
    NATS_TLS_CA = "NATS_TLS_CA"
    NATS_TLS_CERT = "NATS_TLS_CERT"
    NATS_TLS_KEY = "NATS_TLS_KEY"
    NATS_REPLICAS = "NATS_REPLICAS"
    NATS_STORAGE = "NATS_STORAGE"
    NATS_DUPLICATE_WINDOW = "NATS_DUPLICATE_WINDOW"
    NATS_EVENT_LOOP = "NATS_EVENT_LOOP"
    NATS_GROUP_COMMIT = "NATS_GROUP_COMMIT"
    CREATE_TABLE = "CREATE_TABLE"

    DEFAULT_URL = "nats://127.0.0.1:4222"

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        self._bridge: NATSBridge | None = None
        self._streams: dict[str, JetStreamStream] = {}
        self._ensured: set[str] = set()

    # ------------------------------------------------------------ settings
    @property
    def stream_name(self) -> str:
        return self.env.get(self.NATS_STREAM) or default_stream_name(self.env.name)

    def _float(self, key: str, default: float) -> float:
        value = self.env.get(key)
        if not value:
            return default
        try:
            return float(value)
        except ValueError:
            msg = f"environment variable {key}={value!r} is not a number"
            raise ValueError(msg) from None

    def _connect_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        get = self.env.get
        if get(self.NATS_USER):
            options["user"] = get(self.NATS_USER)
            options["password"] = get(self.NATS_PASSWORD) or ""
        if get(self.NATS_TOKEN):
            options["token"] = get(self.NATS_TOKEN)
        if get(self.NATS_CREDS):
            options["user_credentials"] = get(self.NATS_CREDS)
        if get(self.NATS_NKEY_SEED):
            options["nkeys_seed"] = get(self.NATS_NKEY_SEED)
        if get(self.NATS_TLS_CA) or get(self.NATS_TLS_CERT):
            context = ssl.create_default_context(cafile=get(self.NATS_TLS_CA) or None)
            if get(self.NATS_TLS_CERT):
                context.load_cert_chain(
                    get(self.NATS_TLS_CERT) or "", get(self.NATS_TLS_KEY) or None
                )
            options["tls"] = context
        return options

    @property
    def bridge(self) -> NATSBridge:
        """The factory's connection (one event-loop thread), started on first use."""
        if self._bridge is None:
            url = self.env.get(self.NATS_URL) or self.DEFAULT_URL
            bridge = NATSBridge(
                [u.strip() for u in url.split(",") if u.strip()],
                timeout=self._float(self.NATS_TIMEOUT, 5.0),
                connect_timeout=self._float(self.NATS_CONNECT_TIMEOUT, 2.0),
                name=f"session-log:{self.env.name or 'app'}",
                options=self._connect_options(),
                loop=(self.env.get(self.NATS_EVENT_LOOP) or "auto").lower(),
            )
            bridge.start()
            self._bridge = bridge
        return self._bridge

    def _create(self) -> bool:
        return strtobool(self.env.get(self.CREATE_TABLE) or "yes")

    def stream(
        self, name: str, prefix: str, *, tracking: bool = True
    ) -> JetStreamStream:
        """The handle of stream ``name`` whose subjects start with ``prefix``."""
        if name not in self._streams:
            scheme = SubjectScheme(prefix)
            subjects: tuple[str, ...] = (scheme.events_filter,)
            if tracking:
                subjects += (scheme.tracking_filter,)
            spec = StreamSpec(
                name=name,
                subjects=subjects,
                storage=(self.env.get(self.NATS_STORAGE) or "file").lower(),
                replicas=int(self._float(self.NATS_REPLICAS, 1)),
                duplicate_window_s=self._float(self.NATS_DUPLICATE_WINDOW, 120.0),
            )
            self._streams[name] = JetStreamStream(
                self.bridge,
                spec,
                scheme,
                group_commit=strtobool(self.env.get(self.NATS_GROUP_COMMIT) or "yes"),
            )
        return self._streams[name]

    def _events_stream(self) -> JetStreamStream:
        name = self.stream_name
        return self.stream(name, name)

    def _snapshots_stream(self) -> JetStreamStream:
        name = f"{self.stream_name}_snapshots"
        return self.stream(name, name, tracking=False)

    # ----------------------------------------------------------- recorders
    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        stream = (
            self._snapshots_stream()
            if purpose == "snapshots"
            else self._events_stream()
        )
        return JetStreamAggregateRecorder(stream, create_stream=self._create())

    def application_recorder(self) -> ApplicationRecorder:
        topic = self.env.get(self.APPLICATION_RECORDER_TOPIC)
        cls: type[JetStreamApplicationRecorder] = (
            resolve_topic(topic) if topic else JetStreamApplicationRecorder
        )
        return cls(self._events_stream(), create_stream=self._create())

    def tracking_recorder(
        self, tracking_recorder_class: type[TrackingRecorder] | None = None
    ) -> TrackingRecorder:
        if tracking_recorder_class is None:
            topic = self.env.get(self.TRACKING_RECORDER_TOPIC)
            tracking_recorder_class = (
                resolve_topic(topic) if topic else JetStreamTrackingRecorder
            )
        assert tracking_recorder_class is not None
        recorder_class: Any = tracking_recorder_class
        recorder: TrackingRecorder = recorder_class(
            self._events_stream(), create_stream=self._create()
        )
        return recorder

    def process_recorder(self) -> ProcessRecorder:
        topic = self.env.get(self.PROCESS_RECORDER_TOPIC)
        cls: type[JetStreamProcessRecorder] = (
            resolve_topic(topic) if topic else JetStreamProcessRecorder
        )
        return cls(self._events_stream(), create_stream=self._create())

    def close(self) -> None:
        if self._bridge is not None:
            self._bridge.close()
            self._bridge = None
        self._streams.clear()
        super().close()


Factory = JetStreamFactory
