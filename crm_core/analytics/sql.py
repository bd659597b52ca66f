"""The segmentation as one ``INSERT … SELECT``: aggregates, then window functions, then flags.

Stages (common table expressions, each one pass):

1. ``population`` — live customers with an account (:func:`segmented_customers`);
2. ``balances`` — today's balances per account kind;
3. ``moves`` — one scan of the last year's transactions joined to their
   accounts: window adjustments for the 1-, 3- and 12-month averages,
   RFM aggregates and card spending;
4. ``touches`` — one scan of the last year's interactions: contacts, talk
   time, cost to serve, complaints;
5. ``metrics`` — per customer: averages, income, cost, contribution;
6. ``ranked`` — window functions over all customers: ABC by contribution
   and by AUM, R/F/M quintiles; then tiers, churn flags, VIP treatment.

The database does all the work; nothing per customer crosses the wire.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Insert, String, and_, case, cast, false, func, insert, literal, select, true

from crm_core.analytics.aum import (
    ACCOUNT_KINDS,
    AUM_TYPES,
    MONTH_DAYS,
    QUARTER_DAYS,
    YEAR_DAYS,
    average,
    balances_now,
    segmented_customers,
    tier_case,
    window_adjustment,
)
from crm_core.analytics.churn import balance_drop, dormant
from crm_core.analytics.contribution import card_spending, contacts, cost_to_serve, margin_income
from crm_core.analytics.dialect import Dialect
from crm_core.analytics.pareto import abc_case
from crm_core.analytics.rfm import frequency, last_initiated, monetary, quintile
from crm_core.analytics.schemas import SegmentSettings
from crm_core.models import Account, CustomerSegment, Transaction

__all__ = ["segment_insert"]


def segment_insert(
    dialect: Dialect, settings: SegmentSettings, run_id: int, as_of: datetime, computed_on: date
) -> Insert:
    """The statement writing run ``run_id``'s ``customer_segments`` rows."""
    population = segmented_customers().cte("population")
    balances = balances_now().cte("balances")
    year_start = dialect.at(as_of - timedelta(days=YEAR_DAYS))
    moves = (
        select(
            Transaction.customer_id,
            window_adjustment(dialect, as_of, MONTH_DAYS, AUM_TYPES).label("adj_month"),
            window_adjustment(dialect, as_of, QUARTER_DAYS, AUM_TYPES).label("adj_quarter"),
            *(
                window_adjustment(dialect, as_of, YEAR_DAYS, (kind,)).label(f"adj_year_{kind}")
                for kind in ACCOUNT_KINDS
            ),
            last_initiated().label("last_at"),
            frequency().label("frequency"),
            monetary().label("monetary"),
            card_spending().label("card_spent"),
        )
        .join(Account, Account.id == Transaction.account_id)
        .where(Transaction.occurred_at > year_start, Transaction.occurred_at <= dialect.at(as_of))
        .group_by(Transaction.customer_id)
        .cte("moves")
    )
    touches = contacts(dialect, settings, as_of).cte("touches")

    year_averages = {
        kind: func.coalesce(balances.c[f"bal_{kind}"], 0)
        - func.coalesce(moves.c[f"adj_year_{kind}"], 0) / dialect.number(YEAR_DAYS)
        for kind in ACCOUNT_KINDS
    }
    income = dialect.round_money(
        margin_income(dialect, settings, year_averages)
        + func.coalesce(moves.c.card_spent, 0) * dialect.rate(settings.card_fee_rate)
    )
    metrics = (
        select(
            population.c.customer_id,
            dialect.round_money(func.coalesce(balances.c.aum_now, 0)).label("aum_balance"),
            average(dialect, balances.c.aum_now, moves.c.adj_month, MONTH_DAYS).label("avg_daily_balance"),
            average(dialect, balances.c.aum_now, moves.c.adj_quarter, QUARTER_DAYS).label("avg_balance_3m"),
            moves.c.last_at,
            func.coalesce(moves.c.frequency, 0).label("frequency"),
            dialect.round_money(func.coalesce(moves.c.monetary, 0)).label("monetary"),
            func.coalesce(touches.c.contacts, 0).label("contacts"),
            func.coalesce(touches.c.talk_seconds, 0).label("talk_seconds"),
            income.label("income"),
            cost_to_serve(dialect, touches.c.cost).label("cost_to_serve"),
            func.coalesce(touches.c.complaint, 0).label("complaint"),
        )
        .outerjoin(balances, balances.c.customer_id == population.c.customer_id)
        .outerjoin(moves, moves.c.customer_id == population.c.customer_id)
        .outerjoin(touches, touches.c.customer_id == population.c.customer_id)
        .cte("metrics")
    )
    m = metrics.c
    contribution = m.income - m.cost_to_serve
    recency_order = (case((m.last_at.is_(None), 0), else_=1), m.last_at)
    ranked = select(
        *m,
        contribution.label("contribution"),
        abc_case(contribution, m.customer_id).label("abc_contribution"),
        abc_case(m.avg_daily_balance, m.customer_id).label("abc_aum"),
        quintile(*recency_order).label("r_score"),
        quintile(m.frequency).label("f_score"),
        quintile(m.monetary).label("m_score"),
        tier_case(dialect, m.avg_daily_balance, settings.thresholds).label("aum_tier"),
    ).cte("ranked")
    r = ranked.c
    below_vip = r.aum_tier.not_in(settings.vip_tiers)
    promoted = and_(r.abc_contribution == "A", below_vip)
    service_tier = case((promoted, literal(settings.segment_a_tier)), else_=r.aum_tier)
    vip = case((r.abc_contribution == "A", true()), (below_vip, false()), else_=true())
    rfm = cast(r.r_score, String) + cast(r.f_score, String) + cast(r.m_score, String)
    final = select(
        literal(run_id),
        r.customer_id,
        literal(computed_on),
        r.abc_contribution,
        r.abc_aum,
        r.aum_tier,
        service_tier,
        vip,
        r.aum_balance,
        r.avg_daily_balance,
        r.avg_balance_3m,
        r.last_at,
        r.frequency,
        r.monetary,
        r.r_score,
        r.f_score,
        r.m_score,
        rfm,
        r.contacts,
        r.talk_seconds,
        r.income,
        r.cost_to_serve,
        r.contribution,
        balance_drop(settings, r.aum_balance, r.avg_balance_3m),
        dormant(dialect, settings, as_of, r.last_at),
        r.complaint > 0,
    )
    columns = [
        "run_id", "customer_id", "computed_on", "abc_contribution", "abc_aum", "aum_tier", "service_tier",
        "vip", "aum_balance", "avg_daily_balance", "avg_balance_3m", "last_transaction_at", "frequency",
        "monetary", "r_score", "f_score", "m_score", "rfm_score", "contacts", "talk_seconds", "income",
        "cost_to_serve", "contribution", "churn_balance_drop", "churn_dormant", "churn_complaint",
    ]  # fmt: skip
    table = CustomerSegment.__table__.c
    return insert(CustomerSegment).from_select([table[name] for name in columns], final)
