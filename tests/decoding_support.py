"""How two decodings of one stored event are compared."""

from __future__ import annotations

from typing import Any


def assert_same_event(event: Any, expected: Any) -> None:
    """The same class and the same ``__dict__``: keys in the same order, values
    equal and of the same repr (a datetime's tzinfo object included)."""
    assert type(event) is type(expected)
    assert list(vars(event).items()) == list(vars(expected).items())
    assert repr(list(vars(event).items())) == repr(list(vars(expected).items()))
