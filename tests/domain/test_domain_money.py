"""Amounts in each currency's own minor units (ISO 4217), written and read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from session_log.domain.money import (
    DECIMALS,
    Money,
    decimals,
    format_amount,
    parse_amount,
)

DASHBOARD = Path(__file__).parents[2] / "src/session_log/dashboard/app.js"


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (150_000, "USD", "1,500.00"),
        (5, "EUR", "0.05"),
        (-123_456_789, "GBP", "-1,234,567.89"),
        (150_000, "JPY", "150,000"),  # the yen has no minor unit
        (-7, "KRW", "-7"),
        (1_500_250, "KWD", "1,500.250"),  # 1,000 fils to the dinar
        (5, "BHD", "0.005"),
        (150_000, "CLF", "15.0000"),
        (0, "CHF", "0.00"),  # any code not listed: hundredths
    ],
)
def test_amounts_are_written_in_the_currency_s_decimals(
    minor: int, currency: str, text: str
) -> None:
    assert format_amount(minor, currency) == text
    assert parse_amount(text, currency) == minor


def test_a_minus_below_one_unit_is_kept() -> None:
    assert parse_amount("-0.50", "USD") == -50
    assert parse_amount("-0", "USD") == 0
    assert str(Money(amount=-50, currency="USD")) == "-USD 0.50"
    assert str(Money(amount=1500, currency="JPY")) == "JPY 1,500"


@pytest.mark.parametrize(
    ("text", "currency", "words"),
    [
        ("10.5", "JPY", "JPY amounts have no decimals"),
        ("1.234", "USD", "USD amounts have 2 decimal places"),
        ("1,50.00", "USD", "is not an amount"),
        ("1.", "USD", "is not an amount"),
        ("12 apples", "USD", "is not an amount"),
        ("", "USD", "is not an amount"),
    ],
)
def test_what_is_not_an_amount_is_refused_by_name(
    text: str, currency: str, words: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        parse_amount(text, currency)


@given(
    minor=st.integers(min_value=-(10**15), max_value=10**15),
    currency=st.sampled_from([*DECIMALS, "USD", "EUR", "CHF"]),
)
def test_reading_what_was_written_gives_the_amount_back(
    minor: int, currency: str
) -> None:
    assert parse_amount(format_amount(minor, currency), currency) == minor


def test_the_dashboard_knows_the_same_decimals() -> None:
    script = DASHBOARD.read_text()
    start = script.index("const DECIMALS = {")
    table = script[start : script.index("};", start)]
    found = {code: int(n) for code, n in re.findall(r"([A-Z]{3}): (\d)", table)}
    assert found == dict(DECIMALS)
    assert decimals("USD") == 2
