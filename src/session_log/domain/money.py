"""Money: integer minor units plus an ISO 4217 currency code. Never a float.

How many minor units make a unit is the currency's (ISO 4217's "minor unit"):
100 cents to the dollar, but the yen has none (``{"amount": 1500, "currency":
"JPY"}`` is 1,500 yen) and the Kuwaiti dinar 1,000 fils. :func:`format_amount`
and :func:`parse_amount` write and read amounts that way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Final

import msgspec

from session_log.errors import CurrencyMismatch, InvalidCommand

CURRENCY_PATTERN: Final = r"^[A-Z]{3}$"
CurrencyCode = Annotated[str, msgspec.Meta(pattern=CURRENCY_PATTERN)]

_NO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
DECIMALS: Final[Mapping[str, int]] = MappingProxyType(
    {
        **dict.fromkeys(_NO_DECIMALS.split(), 0),
        **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
        **dict.fromkeys(["CLF", "UYW"], 4),
    }
)
"""The ISO 4217 currencies whose minor unit is not a hundredth (decimal places
of an amount); every other currency has two."""


def decimals(currency: str) -> int:
    """Decimal places of ``currency``'s amounts (ISO 4217's minor unit; 2 for
    any code not in :data:`DECIMALS`)."""
    return DECIMALS.get(currency, 2)


def format_amount(minor: int, currency: str) -> str:
    """``150000`` USD -> ``1,500.00``; JPY -> ``150,000``; KWD -> ``150.000``."""
    places = decimals(currency)
    sign = "-" if minor < 0 else ""
    units, fraction = divmod(abs(minor), 10**places)
    return f"{sign}{units:,}.{fraction:0{places}d}" if places else f"{sign}{units:,}"


AMOUNT: Final = re.compile(r"(-)?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
"""An amount as people type it: digits, optionally grouped by thousands with
commas, optionally a decimal point and decimals; a leading minus."""


def parse_amount(text: str, currency: str) -> int:
    """Minor units of ``text`` in ``currency`` (``"1,500.5"`` USD -> ``150050``).

    Raises :class:`ValueError` naming what is wrong: not a number, or more
    decimals than the currency has (``"10.5"`` yen).
    """
    found = AMOUNT.fullmatch(text.strip())
    if found is None:
        msg = f"{text.strip()!r} is not an amount (e.g. 1,500.00)"
        raise ValueError(msg)
    minus, whole, fraction = found.groups()
    places = decimals(currency)
    fraction = fraction or ""
    if len(fraction) > places:
        unit = "no decimals" if places == 0 else f"{places} decimal places"
        msg = f"{text.strip()!r}: {currency} amounts have {unit}"
        raise ValueError(msg)
    scale: int = 10**places
    minor = int(whole.replace(",", "")) * scale + int(fraction.ljust(places, "0") or 0)
    return -minor if minus else minor


class Money(msgspec.Struct, frozen=True, kw_only=True, order=False):
    """An amount in minor units (cents for USD) of ``currency``."""

    amount: int
    currency: CurrencyCode

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=0, currency=currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            msg = f"cannot combine {self.currency} with {other.currency}"
            raise CurrencyMismatch(msg)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def gt(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def ge(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def percent_bp(self, basis_points: int) -> Money:
        """``basis_points`` / 10,000 of this amount, rounded half up to a minor unit."""
        numerator = self.amount * basis_points
        quotient, remainder = divmod(numerator, 10_000)
        if remainder * 2 >= 10_000:
            quotient += 1
        return Money(amount=quotient, currency=self.currency)

    def __str__(self) -> str:
        sign = "-" if self.amount < 0 else ""
        return f"{sign}{self.currency} {format_amount(abs(self.amount), self.currency)}"


def total(amounts: list[Money] | tuple[Money, ...], currency: str) -> Money:
    """The sum of ``amounts`` (all in ``currency``)."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


def require_currency(money: Money, currency: str, field: str) -> None:
    """Refuse ``money`` unless it is in the project's ``currency``."""
    if money.currency != currency:
        msg = f"{field}: {money.currency} given, the project's currency is {currency}"
        raise CurrencyMismatch(msg, field=field)


def require_positive(money: Money, field: str) -> None:
    """Refuse a zero or negative amount."""
    if money.amount <= 0:
        msg = f"{field}: the amount must be positive, got {money.amount}"
        raise InvalidCommand(msg, field=field)
