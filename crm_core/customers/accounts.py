"""Bank accounts: opening them and finding them by full number, which is never stored.

An account keeps only the last four digits in clear and
``HMAC-SHA256(pepper, digits)`` of the full number.  The pepper is a random
per-install secret kept outside the database (a file next to it), so a
stolen database alone does not allow a dictionary attack on the numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models import ACCOUNT_STATUSES, ACCOUNT_TYPES, Account, Customer

__all__ = ["PEPPER_BYTES", "AccountBook", "load_or_create_pepper", "mask", "number_digits"]

log = logging.getLogger(__name__)

PEPPER_BYTES = 32
_MIN_DIGITS, _MAX_DIGITS = 8, 34  # card PANs are 12–19 digits, IBAN-like ids up to 34


def load_or_create_pepper(path: Path) -> bytes:
    """Read the install's pepper from ``path``, creating it (mode 0600) on first use.

    Raises :class:`ValueError` if the file exists but holds no usable pepper:
    silently replacing it would make every stored hash unreachable.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = secrets.token_hex(PEPPER_BYTES).encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            # Another process created it first: use theirs.
            return load_or_create_pepper(path)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        log.info("accounts.pepper_created", extra={"path": str(path)})
    try:
        pepper = bytes.fromhex(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"pepper file {path} is not hex") from None
    if len(pepper) < 16:
        raise ValueError(f"pepper file {path} is too short")
    return pepper


def number_digits(number: str) -> str:
    """The digits of an account number typed with spaces or dashes.

    Raises :class:`ValueError` (without echoing the number) if anything else
    is in it or its length is implausible.
    """
    compact = "".join(ch for ch in number if ch not in " -")
    if not compact.isascii() or not compact.isdigit() or not _MIN_DIGITS <= len(compact) <= _MAX_DIGITS:
        raise ValueError("account number must be 8 to 34 digits")
    return compact


def mask(last4: str) -> str:
    """The only form of an account number shown outside crm_core: ``"**** 1234"``."""
    return f"**** {last4}"


class AccountBook:
    """Opens accounts and finds their owner by full number (e.g. typed in the IVR)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], pepper: bytes) -> None:
        if len(pepper) < 16:
            raise ValueError("pepper must be at least 16 bytes")
        self._sessions = sessions
        self._pepper = pepper

    def number_hash(self, number: str) -> str:
        """Hex ``HMAC-SHA256`` of the number's digits under this install's pepper."""
        return hmac.new(self._pepper, number_digits(number).encode(), hashlib.sha256).hexdigest()

    async def open_account(
        self,
        customer_id: int,
        *,
        type: str,
        number: str,
        balance: Decimal | int | str = Decimal("0.00"),
        currency: str = "CNY",
        status: str = "active",
    ) -> int:
        """Store an account of ``customer_id`` and return its id.

        Raises :class:`ValueError` for an unknown type/status, a bad balance
        or number, an unknown customer, or a number already on file.
        """
        if type not in ACCOUNT_TYPES:
            raise ValueError(f"account type must be one of {', '.join(ACCOUNT_TYPES)}")
        if status not in ACCOUNT_STATUSES:
            raise ValueError(f"account status must be one of {', '.join(ACCOUNT_STATUSES)}")
        if len(currency) != 3 or not currency.isalpha():
            raise ValueError("currency must be a 3-letter ISO code")
        try:
            amount = Decimal(balance)
        except (InvalidOperation, ValueError, TypeError):
            raise ValueError("balance must be a decimal amount") from None
        if not amount.is_finite() or abs(amount) >= Decimal("1e16"):
            raise ValueError("balance out of range")
        digits = number_digits(number)
        digest = self.number_hash(digits)
        account = Account(
            customer_id=customer_id,
            type=type,
            number_last4=digits[-4:],
            number_hash=digest,
            balance=amount,
            currency=currency.upper(),
            status=status,
        )
        try:
            async with self._sessions() as session, session.begin():
                if await session.get(Customer, customer_id) is None:
                    raise ValueError(f"no customer {customer_id}")
                taken = await session.scalar(select(Account.id).where(Account.number_hash == digest))
                if taken is not None:
                    raise ValueError("account number already on file")
                session.add(account)
        except IntegrityError:
            # Lost a race with another opening of the same number.
            raise ValueError("account number already on file") from None
        return account.id

    async def customer_for_number(self, number: str) -> int | None:
        """The id of the (not deleted) customer holding account ``number``, if any."""
        try:
            digest = self.number_hash(number)
        except ValueError:
            return None
        async with self._sessions() as session:
            return await session.scalar(
                select(Account.customer_id)
                .join(Customer, Customer.id == Account.customer_id)
                .where(Account.number_hash == digest, Customer.deleted_at.is_(None))
            )
