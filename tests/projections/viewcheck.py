"""Helpers for comparing views: a clean replay of a view, for reference."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application

from projections import ViewStore, replay

Dump = dict[str, list[dict[str, Any]]]


def clean_replay(
    app: Application[Any], store: ViewStore, name: str, **cut: Any
) -> Dump:
    """The dump of view ``name`` replayed from scratch (optionally up to a cut)."""
    shadow = store.fresh_view(name, "check")
    try:
        replay(app, shadow, **cut)
        return shadow.dump()
    finally:
        shadow.drop()


def without_failures(dump: Dump) -> Dump:
    return {k: v for k, v in dump.items() if k != "failures"}
