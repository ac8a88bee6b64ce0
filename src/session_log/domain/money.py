"""Money: integer minor units plus an ISO 4217 currency code. Never a float."""

from __future__ import annotations

from typing import Annotated

import msgspec

from session_log.errors import CurrencyMismatch, InvalidCommand

CurrencyCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]


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
        units, cents = divmod(abs(self.amount), 100)
        return f"{sign}{self.currency} {units:,}.{cents:02d}"


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
