"""ORM models of contracts: the contract, its lines, its payment plan and the payments received."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import CONTRACT_PRODUCT_TYPES, CONTRACT_STATUSES, Base, Timestamped, check_in
from crm_core.models.coltypes import utcnow
from crm_core.models.people import Customer

__all__ = ["Contract", "ContractInstallment", "ContractLine", "Payment"]


class Contract(Timestamped, Base):
    """A contract with a customer; ``status`` moves only along the legal transitions (see the service)."""

    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint(check_in("product_type", CONTRACT_PRODUCT_TYPES), name="product_type"),
        CheckConstraint(check_in("status", CONTRACT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    product_type: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    start_on: Mapped[date]
    end_on: Mapped[date] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    is_renewal: Mapped[bool] = mapped_column(Boolean, default=False)
    renewed_from_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="SET NULL"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None]
    signed_on: Mapped[date | None]
    deleted_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship(lazy="raise")
    lines: Mapped[list[ContractLine]] = relationship(
        back_populates="contract",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ContractLine.id",
    )
    installments: Mapped[list[ContractInstallment]] = relationship(
        back_populates="contract",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ContractInstallment.due_on",
    )
    payments: Mapped[list[Payment]] = relationship(
        back_populates="contract",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Payment.id",
    )


class ContractLine(Base):
    """One product on a contract: ``amount`` is ``quantity × unit_price``."""

    __tablename__ = "contract_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    product: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price: Mapped[Decimal]
    amount: Mapped[Decimal]

    contract: Mapped[Contract] = relationship(back_populates="lines", lazy="raise")


class ContractInstallment(Base):
    """One due amount of a contract's payment plan."""

    __tablename__ = "contract_installments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[date]
    amount: Mapped[Decimal]

    contract: Mapped[Contract] = relationship(back_populates="installments", lazy="raise")


class Payment(Base):
    """Money received on a contract; a negative ``amount`` is a refund."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    received_on: Mapped[date]
    amount: Mapped[Decimal]
    method: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())

    contract: Mapped[Contract] = relationship(back_populates="payments", lazy="raise")
