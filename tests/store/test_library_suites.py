"""eventsourcing's own recorder conformance suites, unmodified, on a real server."""

from __future__ import annotations

import os
from typing import Any, ClassVar
from uuid import uuid4

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.tests import application as app_suites
from eventsourcing.tests import persistence as suites
from eventsourcing.utils import Environment

from session_log.jetstream import (
    JetStreamAggregateRecorder,
    JetStreamApplicationRecorder,
    JetStreamFactory,
    JetStreamProcessRecorder,
    JetStreamTrackingRecorder,
)

from .harness import fresh_stream_name, new_factory, server_url


class FactoryPerTest:
    """Each test gets a fresh stream; factories are closed after the test."""

    factories: ClassVar[list[JetStreamFactory]] = []

    def _factory(self, **env: Any) -> JetStreamFactory:
        factory = new_factory(type(self).__name__, **env)
        self.factories.append(factory)
        return factory

    def tearDown(self) -> None:
        while self.factories:
            self.factories.pop().close()
        super().tearDown()  # type: ignore[misc]


class TestAggregateRecorder(FactoryPerTest, suites.AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self._factory().aggregate_recorder()


class TestAggregateRecorderStrIDs(TestAggregateRecorder):
    def new_originator_id(self) -> str:
        return f"album-{uuid4().hex[:8]}.session.{uuid4().hex}"


class TestSnapshotRecorder(FactoryPerTest, suites.AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self._factory().aggregate_recorder(purpose="snapshots")


class TestApplicationRecorder(FactoryPerTest, suites.ApplicationRecorderTestCase):
    def create_recorder(self) -> ApplicationRecorder:
        return self._factory().application_recorder()

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestApplicationRecorderStrIDs(TestApplicationRecorder):
    def new_originator_id(self) -> str:
        return uuid4().hex


class TestNonInterleaving(
    FactoryPerTest, suites.NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> ApplicationRecorder:
        return self._factory().application_recorder()


class TestTrackingRecorder(FactoryPerTest, suites.TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return self._factory().tracking_recorder()


class TestProcessRecorder(FactoryPerTest, suites.ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        return self._factory().process_recorder()


class _TrackingRecorderSubclass(JetStreamTrackingRecorder):
    pass


class TestInfrastructureFactory(suites.InfrastructureFactoryTestCase[JetStreamFactory]):
    def setUp(self) -> None:
        self.env = Environment(
            "TestCase",
            {
                "PERSISTENCE_MODULE": "session_log.jetstream",
                "NATS_URL": server_url(),
                "NATS_STREAM": fresh_stream_name("factory"),
            },
        )
        super().setUp()

    def expected_factory_class(self) -> type[JetStreamFactory]:
        return JetStreamFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return JetStreamAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return JetStreamApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return JetStreamTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return _TrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return JetStreamProcessRecorder


class TestExampleApplication(app_suites.ExampleApplicationTestCase):
    expected_factory_topic = "session_log.jetstream.factory:JetStreamFactory"

    def setUp(self) -> None:
        self._saved = {k: os.environ.get(k) for k in self._keys}
        os.environ["PERSISTENCE_MODULE"] = "session_log.jetstream"
        os.environ["NATS_URL"] = server_url()
        os.environ["NATS_STREAM"] = fresh_stream_name("example")
        super().setUp()

    _keys = ("PERSISTENCE_MODULE", "NATS_URL", "NATS_STREAM")

    def tearDown(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        super().tearDown()
