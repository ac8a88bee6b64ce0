"""Approval levels shared by mixes and masters: producer, then artist, then label."""

from __future__ import annotations

from typing import Literal

from session_log.errors import AlreadyExists, ApprovalOrderViolated

ApprovalLevel = Literal["producer", "artist", "label"]
LEVELS: tuple[ApprovalLevel, ...] = ("producer", "artist", "label")


def check_next_level(given: list[str], level: ApprovalLevel, what: str) -> None:
    """Refuse ``level`` unless every earlier level approved and it did not yet."""
    if level in given:
        msg = f"{what} is already approved at {level} level"
        raise AlreadyExists(msg)
    for earlier in LEVELS[: LEVELS.index(level)]:
        if earlier not in given:
            msg = f"{what}: {earlier} approval comes before {level} approval"
            raise ApprovalOrderViolated(msg)
