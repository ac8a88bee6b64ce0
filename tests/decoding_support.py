"""How two decodings of one stored event are compared."""

from __future__ import annotations

from typing import Any

import pytest


def assert_same_event(event: Any, expected: Any) -> None:
    """The same class and the same ``__dict__``: keys in the same order, values
    equal and of the same repr (a datetime's tzinfo object included)."""
    assert type(event) is type(expected)
    assert list(vars(event).items()) == list(vars(expected).items())
    assert repr(list(vars(event).items())) == repr(list(vars(expected).items()))


def assert_decodes_as_generically(
    mapper: Any,
    stored: Any,
    errors: tuple[type[BaseException], ...] = (Exception,),
) -> None:
    """The mapper gives what its generic path gives for ``stored``: the same
    event, or an error of the same type. An error of the generic path that is
    not among ``errors`` is raised (fails the test)."""
    try:
        expected = mapper.to_domain_event_generically(stored)
    except errors as error:
        with pytest.raises(type(error)):
            mapper.to_domain_event(stored)
    else:
        assert_same_event(mapper.to_domain_event(stored), expected)
