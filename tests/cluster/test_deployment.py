"""The deployment files and the loopback cluster stay one and the same.

docker/compose.yaml runs docker/nats/n*.conf in containers; the tests run the
same files on loopback (session_log.cluster). These checks keep the two from
drifting: every variable the configs reference is set for every node, the
nodes route to each other, the NATS image is the server version the tests ran,
and a running cluster has what the configs promise (R3 streams through the
store, sync_interval: always, one meta leader).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from projections import view_names
from session_log.cli import cli
from session_log.cluster import (
    NODE_VARIABLES,
    LoopbackCluster,
    config_dir,
    password_variable,
    referenced_variables,
)
from session_log.embedded import find_nats_server
from session_log.jetstream import JetStreamFactory

DOCKER = Path(__file__).resolve().parents[2] / "docker"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return loaded


def nats_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if str(service.get("image", "")).startswith("nats:")
    }


def test_compose_runs_the_node_configs_with_every_variable_set(
    compose: dict[str, Any],
) -> None:
    nodes = nats_services(compose)
    assert sorted(nodes) == ["n1", "n2", "n3"]
    needed = referenced_variables(config_dir())
    assert set(NODE_VARIABLES) <= needed
    for name, service in nodes.items():
        assert service["command"][-1] == f"/etc/nats/{name}.conf"
        assert "./nats:/etc/nats:ro" in service["volumes"]
        assert any(v.endswith(":/data") for v in service["volumes"])
        environment = service["environment"]
        assert needed <= set(environment), needed - set(environment)
        assert environment["SL_NATS_STORE_DIR"] == "/data"
        routes = environment["SL_NATS_ROUTES"]
        for other in nodes:
            assert f"nats://{other}:{environment['SL_NATS_CLUSTER_PORT']}" in routes
        assert service["stop_signal"] == "SIGUSR2"  # lame duck on stop


def test_each_node_config_is_valid_as_deployed(compose: dict[str, Any]) -> None:
    for name, service in nats_services(compose).items():
        environment = {
            k: re.sub(r"\$\{[^}]*\}", "pwexample", str(v))
            for k, v in service["environment"].items()
        }
        environment["SL_NATS_STORE_DIR"] = "/tmp/session-log-config-check"
        checked = subprocess.run(
            [str(find_nats_server()), "-t", "-c", str(config_dir() / f"{name}.conf")],
            env=environment,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr + checked.stdout


def test_the_nats_image_is_the_tested_server_version(compose: dict[str, Any]) -> None:
    version = subprocess.run(
        [str(find_nats_server()), "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    tested = re.search(r"v(\d+\.\d+\.\d+)", version)
    assert tested is not None, version
    for service in nats_services(compose).values():
        assert service["image"] == f"nats:{tested.group(1)}-alpine"


def test_app_services_use_the_cluster_and_a_service_user(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    api = services["api"]
    assert api["command"][0] == "serve"
    assert api["deploy"]["replicas"] == 2
    kept: list[str] = []
    for name, service in services.items():
        command = service.get("command") or []
        if name == "api" or name.startswith("projector"):
            url = command[command.index("--nats-url") + 1]
            assert url == "nats://n1:4222,nats://n2:4222,nats://n3:4222"
            assert command[command.index("--views") + 1].startswith("postgresql://")
            environment = service["environment"]
            assert environment["NATS_REPLICAS"] == "3"
            assert environment["NATS_USER"].endswith("-service")
            # The command line is one the real CLI accepts.
            ctx = cli.make_context("session-log", list(command))
            sub = cli.get_command(ctx, command[0])
            assert sub is not None, command
            parsed = sub.make_context(command[0], list(command[1:]), parent=ctx)
            if command[0] == "project":
                kept += parsed.params["keep"] or view_names()
        if name.startswith("projector"):
            assert command[0] == "project"
    # Every view is kept by some worker, and one worker asks for every view
    # (the standby).
    assert set(kept) == set(view_names())
    assert any(
        "--view" not in service["command"]
        for name, service in services.items()
        if name.startswith("projector")
    )
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["session-log"]' in dockerfile


def test_env_example_names_every_password(compose: dict[str, Any]) -> None:
    example = (DOCKER / "env.example").read_text()
    for variable in referenced_variables(config_dir()) - set(NODE_VARIABLES):
        assert f"\n{variable}=" in example, variable
    assert password_variable("label-a-album-7") == "SL_NATS_LABEL_A_ALBUM_7_PASSWORD"


def test_a_running_cluster_has_what_the_configs_promise(
    shared_cluster: LoopbackCluster,
) -> None:
    cluster = shared_cluster
    for node in cluster.nodes:
        varz = node.monitor("varz")
        assert varz["server_name"] == node.name
        assert varz["jetstream"]["config"]["sync_always"] is True
        assert varz["cluster"]["name"] == "session-log"
    assert len({n.meta_leader() for n in cluster.nodes}) == 1
    factory = JetStreamFactory(
        cluster.env("label-a-service", NATS_STREAM="SessionLog", NATS_REPLICAS="3")
    )
    try:
        factory.application_recorder()
    finally:
        factory.close()
    leader = cluster.stream_leader("LABEL_A", "SessionLog")
    detail = cluster.node(leader).stream_detail("LABEL_A", "SessionLog")
    assert detail is not None
    assert detail["config"]["num_replicas"] == 3
    peers = {leader} | {r["name"] for r in detail["cluster"]["replicas"]}
    assert peers == {"n1", "n2", "n3"}
