"""CRM core: teams, customer protection and segments, follow-ups, transactions, contracts,
ownership history, sharing, parameters, append-only audit log, job leases

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_core.migrations.frozen_0001 import v1_tables

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain types only (no imports from crm_core): a migration must keep meaning
# the same schema when the models move on.
UTC_TIMESTAMP = sa.DateTime(timezone=True)
MONEY = sa.Numeric(18, 2).with_variant(sa.BigInteger(), "sqlite")  # SQLite: integer cents
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite auto-numbers INTEGER PRIMARY KEY only

_APPEND_ONLY = "audit_log is append-only"

_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"""
    for verb in ("UPDATE", "DELETE")
]
_PG_TRIGGERS = [
    f"""CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{_APPEND_ONLY}' USING ERRCODE = 'restrict_violation';
END
$$""",
    *(
        f"""CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"""
        for verb in ("UPDATE", "DELETE")
    ),
]


def _in(column: str, *values: str) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _fk(column: str, table: str, ondelete: str = "SET NULL", *, source: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=op.f(f"fk_{source}_{column}_{table}"), ondelete=ondelete
    )


def _dialect() -> str:
    return op.get_context().dialect.name


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        _fk("supervisor_id", "agents", source="teams"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_index(op.f("ix_teams_supervisor_id"), "teams", ["supervisor_id"])

    v1 = v1_tables()
    with op.batch_alter_table("agents", copy_from=v1["agents"]) as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_agents_team_id_teams"), "teams", ["team_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(op.f("ix_agents_team_id"), ["team_id"])

    _upgrade_customers(v1["customers"])
    _upgrade_interactions(v1["interactions"])
    _create_customer_tables()
    _create_contract_tables()
    _create_system_tables()

    triggers = _SQLITE_TRIGGERS if _dialect() == "sqlite" else _PG_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def _upgrade_customers(v1: sa.Table) -> None:
    with op.batch_alter_table("customers", copy_from=v1) as batch:
        batch.add_column(sa.Column("id_number_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("id_number_last4", sa.String(length=4), nullable=True))
        batch.add_column(
            sa.Column("deal_status", sa.String(length=16), server_default="none", nullable=False)
        )
        batch.add_column(sa.Column("source", sa.String(length=32), server_default="branch", nullable=False))
        for name in ("owned_since", "last_follow_up_at", "last_deal_at", "released_at"):
            batch.add_column(sa.Column(name, UTC_TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("previous_owner_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("deleted_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("purge_after", UTC_TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("segment_abc", sa.String(length=1), nullable=True))
        batch.add_column(sa.Column("aum_tier", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("rfm_score", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("contribution", MONEY, nullable=True))
        batch.add_column(sa.Column("segment_computed_at", UTC_TIMESTAMP, nullable=True))
        batch.create_check_constraint(
            op.f("ck_customers_deal_status"),
            _in("deal_status", "none", "prospect", "negotiating", "won", "lost"),
        )
        batch.create_check_constraint(
            op.f("ck_customers_source"),
            _in("source", "walk-in", "referral", "web", "campaign", "import", "phone", "branch"),
        )
        for column in ("previous_owner_id", "deleted_by_id"):
            batch.create_foreign_key(
                op.f(f"fk_customers_{column}_agents"), "agents", [column], ["id"], ondelete="SET NULL"
            )
        batch.create_index(op.f("ix_customers_id_number_hash"), ["id_number_hash"])
        batch.create_index(op.f("ix_customers_status"), ["status"])


def _upgrade_interactions(v1: sa.Table) -> None:
    with op.batch_alter_table("interactions", copy_from=v1) as batch:
        batch.alter_column("call_id", existing_type=sa.String(length=64), nullable=True)
        batch.add_column(sa.Column("content", sa.Text(), nullable=True))
        batch.add_column(sa.Column("next_contact_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("urgent", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_interactions_created_by_id_agents"), "agents", ["created_by_id"], ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_interactions_next_contact_on"), ["next_contact_on"])


def _create_customer_tables() -> None:
    op.create_table(
        "customer_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=True),
        sa.Column("phone_e164", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        _fk("customer_id", "customers", "CASCADE", source="customer_contacts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_contacts")),
    )
    op.create_index(op.f("ix_customer_contacts_customer_id"), "customer_contacts", ["customer_id"])
    op.create_index(op.f("ix_customer_contacts_phone_e164"), "customer_contacts", ["phone_e164"])
    op.create_table(
        "transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("customer_initiated", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.CheckConstraint(
            _in("channel", "branch", "atm", "mobile", "online", "phone", "pos", "transfer"),
            name=op.f("ck_transactions_channel"),
        ),
        _fk("account_id", "accounts", "CASCADE", source="transactions"),
        _fk("customer_id", "customers", "CASCADE", source="transactions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
    )
    for column in ("account_id", "customer_id", "occurred_at"):
        op.create_index(op.f(f"ix_transactions_{column}"), "transactions", [column])
    op.create_table(
        "ownership_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("from_owner_id", sa.Integer(), nullable=True),
        sa.Column("to_owner_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            _in("action", "create", "claim", "release", "assign", "transfer", "lock", "unlock", "import"),
            name=op.f("ck_ownership_history_action"),
        ),
        _fk("customer_id", "customers", "CASCADE", source="ownership_history"),
        _fk("from_owner_id", "agents", source="ownership_history"),
        _fk("to_owner_id", "agents", source="ownership_history"),
        _fk("actor_id", "agents", source="ownership_history"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ownership_history")),
    )
    op.create_index(op.f("ix_ownership_history_customer_id"), "ownership_history", ["customer_id"])
    op.create_index(op.f("ix_ownership_history_at"), "ownership_history", ["at"])
    op.create_table(
        "sharing_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("grantee_user_id", sa.Integer(), nullable=True),
        sa.Column("grantee_team_id", sa.Integer(), nullable=True),
        sa.Column("access", sa.String(length=8), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("revoked_at", UTC_TIMESTAMP, nullable=True),
        sa.CheckConstraint(_in("access", "read", "write"), name=op.f("ck_sharing_grants_access")),
        sa.CheckConstraint(
            "(grantee_user_id IS NULL) <> (grantee_team_id IS NULL)", name=op.f("ck_sharing_grants_one_grantee")
        ),
        _fk("customer_id", "customers", "CASCADE", source="sharing_grants"),
        _fk("grantee_user_id", "agents", "CASCADE", source="sharing_grants"),
        _fk("grantee_team_id", "teams", "CASCADE", source="sharing_grants"),
        _fk("granted_by_id", "agents", source="sharing_grants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_grants")),
    )
    for column in ("customer_id", "grantee_user_id", "grantee_team_id"):
        op.create_index(op.f(f"ix_sharing_grants_{column}"), "sharing_grants", [column])


def _create_contract_tables() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("product_type", sa.String(length=16), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("is_renewal", sa.Boolean(), nullable=False),
        sa.Column("renewed_from_id", sa.Integer(), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("deleted_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            _in("product_type", "deposit", "loan", "card", "wealth", "insurance"),
            name=op.f("ck_contracts_product_type"),
        ),
        sa.CheckConstraint(
            _in("status", "draft", "pending", "approved", "rejected", "active", "expired", "terminated"),
            name=op.f("ck_contracts_status"),
        ),
        _fk("customer_id", "customers", "CASCADE", source="contracts"),
        _fk("owner_id", "agents", source="contracts"),
        _fk("renewed_from_id", "contracts", source="contracts"),
        _fk("approved_by_id", "agents", source="contracts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("number", name=op.f("uq_contracts_number")),
    )
    for column in ("customer_id", "owner_id", "end_on", "status"):
        op.create_index(op.f(f"ix_contracts_{column}"), "contracts", [column])
    op.create_table(
        "contract_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        _fk("contract_id", "contracts", "CASCADE", source="contract_lines"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_lines")),
    )
    op.create_index(op.f("ix_contract_lines_contract_id"), "contract_lines", ["contract_id"])
    op.create_table(
        "contract_installments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        _fk("contract_id", "contracts", "CASCADE", source="contract_installments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_installments")),
    )
    op.create_index(op.f("ix_contract_installments_contract_id"), "contract_installments", ["contract_id"])
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        _fk("contract_id", "contracts", "CASCADE", source="payments"),
        _fk("recorded_by_id", "agents", source="payments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_contract_id"), "payments", ["contract_id"])


def _create_system_tables() -> None:
    op.create_table(
        "parameters",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        _fk("updated_by_id", "agents", source="parameters"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_parameters")),
    )
    op.create_table(
        "parameter_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        _fk("changed_by_id", "agents", source="parameter_changes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parameter_changes")),
    )
    op.create_index(op.f("ix_parameter_changes_key"), "parameter_changes", ["key"])
    op.create_index(op.f("ix_parameter_changes_at"), "parameter_changes", ["at"])
    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("at", UTC_TIMESTAMP, server_default=sa.func.now(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_login", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"])
    op.create_index("ix_audit_log_entity_entity_id", "audit_log", ["entity", "entity_id"])
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("last_run_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("last_result", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_leases")),
    )


def downgrade() -> None:
    if _dialect() == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    for table in (
        "job_leases", "audit_log", "parameter_changes", "parameters", "payments", "contract_installments",
        "contract_lines", "contracts", "sharing_grants", "ownership_history", "transactions",
        "customer_contacts",
    ):  # fmt: skip
        op.drop_table(table)

    # Follow-ups without a call cannot survive a NOT NULL call_id.
    op.execute("DELETE FROM interactions WHERE call_id IS NULL")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_index(op.f("ix_interactions_next_contact_on"))
        batch.drop_constraint(op.f("fk_interactions_created_by_id_agents"), type_="foreignkey")
        for column in ("created_by_id", "urgent", "next_contact_on", "content"):
            batch.drop_column(column)
        batch.alter_column("call_id", existing_type=sa.String(length=64), nullable=False)

    with op.batch_alter_table("customers") as batch:
        batch.drop_index(op.f("ix_customers_status"))
        batch.drop_index(op.f("ix_customers_id_number_hash"))
        for column in ("previous_owner_id", "deleted_by_id"):
            batch.drop_constraint(op.f(f"fk_customers_{column}_agents"), type_="foreignkey")
        batch.drop_constraint(op.f("ck_customers_source"), type_="check")
        batch.drop_constraint(op.f("ck_customers_deal_status"), type_="check")
        for column in (
            "segment_computed_at", "contribution", "rfm_score", "aum_tier", "segment_abc", "purge_after",
            "deleted_by_id", "previous_owner_id", "released_at", "last_deal_at", "last_follow_up_at",
            "owned_since", "source", "deal_status", "id_number_last4", "id_number_hash",
        ):  # fmt: skip
            batch.drop_column(column)

    with op.batch_alter_table("agents") as batch:
        batch.drop_index(op.f("ix_agents_team_id"))
        batch.drop_constraint(op.f("fk_agents_team_id_teams"), type_="foreignkey")
        batch.drop_column("team_id")

    op.drop_index(op.f("ix_teams_supervisor_id"), table_name="teams")
    op.drop_table("teams")
