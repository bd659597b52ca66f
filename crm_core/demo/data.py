"""Deterministic generation of a demo bank's customers (no database here).

Everything derives from the seed, so a given seed always yields the same
people, numbers, balances, histories and contracts; the first ``n``
customers of a larger run equal a run of ``n``.  Balances follow a Pareto
law within tiers: a few private/VIP customers hold most of the assets, as in
a real retail book.  The plain data types live in :mod:`crm_core.demo.bank`.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta
from decimal import Decimal

from crm_core.customers.phones import normalize
from crm_core.demo.bank import DemoAccount, DemoCompanyContact, DemoContact, DemoCustomer, DemoPhone
from crm_core.demo.ledger import DemoQuota, account_transactions, customer_contracts
from crm_core.demo.story import add_follow_ups, add_grants, assign_owner, maybe_delete, settle_deal_status

__all__ = [
    "DemoAccount",
    "DemoContact",
    "DemoCustomer",
    "DemoPhone",
    "aum",
    "demo_agent_names",
    "demo_customers",
]

REGION = "CN"

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐"
_GIVEN = (
    "伟 芳 娜 敏 静 磊 洋 艳 勇 军 杰 娟 涛 明 超 秀英 丽 强 平 刚 "
    "桂英 婷 雪 浩然 子涵 欣怡 宇轩 梓萱 建华 志强"
).split()
_EN_FIRST = "James Emma Oliver Sophia William Grace Henry Chloe Daniel Lucy Thomas Amelia".split()
_EN_LAST = "Smith Johnson Brown Taylor Wilson Davies Evans Walker Wright Hughes Clarke Turner".split()
_CN_COMPANY = (
    ("上海", "北京", "深圳", "杭州", "苏州"),
    ("宏达", "华信", "恒通", "金桥", "瑞丰", "远航"),
    ("贸易", "科技", "物流", "实业", "建材"),
)
_EN_COMPANY = (
    ("Northwind", "Bluepeak", "Harbor", "Golden Gate", "Silkroad"),
    ("Trading", "Logistics", "Tech"),
)
_MOBILE_PREFIXES = (
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 180 181 182 185 186 187 188 189"
).split()
_LANDLINE_AREAS = ("10", "21")  # Beijing, Shanghai: 8-digit local numbers
_RAW_STYLES = ("{n}", "{a} {b} {c}", "+86 {n}", "0086-{n}", "+86 {a}-{b}-{c}")

# tier, weight, base AUM (CNY), cap
_TIERS = (
    ("private", 3, 6_000_000, 80_000_000),
    ("vip", 9, 1_000_000, 6_000_000),
    ("gold", 20, 200_000, 1_000_000),
    ("standard", 68, 3_000, 200_000),
)
_PARETO_ALPHA = 1.16  # the 80/20 shape
_DISPOSITIONS = (
    "balance enquiry",
    "card activation",
    "lost card reported",
    "loan repayment date",
    "wealth product information",
    "address change",
)

_CENT = Decimal("0.01")
# Resident ID: 6-digit area, birth date, sequence, check character (GB 11643-1999).
_ID_AREAS = ("110101", "310101", "440305", "330106", "320505")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # unified social credit code alphabet
_CONTACT_TITLES = (("财务总监", "Finance Director"), ("总经理", "General Manager"), ("出纳", "Treasurer"))


def demo_agent_names(count: int, seed: int) -> list[str]:
    """Names for ``count`` demo agents (deterministic)."""
    rng = random.Random(f"agents-{seed}")
    return [rng.choice(_SURNAMES) + rng.choice(_GIVEN) for _ in range(count)]


class _Numbers:
    """Unique, valid phone and account numbers drawn from one generator."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def _digits(self, n: int) -> str:
        return "".join(self._rng.choice("0123456789") for _ in range(n))

    def mobile(self) -> DemoPhone:
        while True:
            national = self._rng.choice(_MOBILE_PREFIXES) + self._digits(8)
            e164 = normalize(national, REGION)
            if e164 is not None and e164 not in self._used:
                self._used.add(e164)
                style = self._rng.choice(_RAW_STYLES)
                raw = style.format(n=national, a=national[:3], b=national[3:7], c=national[7:])
                return DemoPhone(raw=raw, e164=e164, type="mobile", is_primary=True)

    def landline(self, *, type: str = "landline", is_primary: bool = False) -> DemoPhone:
        while True:
            area = self._rng.choice(_LANDLINE_AREAS)
            local = self._rng.choice("5678") + self._digits(7)
            e164 = normalize(f"0{area}{local}", REGION)
            if e164 is not None and e164 not in self._used:
                self._used.add(e164)
                return DemoPhone(
                    raw=f"0{area}-{local[:4]} {local[4:]}", e164=e164, type=type, is_primary=is_primary
                )

    def id_number(self, kind: str, english: bool) -> str:
        while True:
            if kind == "company":
                body = "91" + self._rng.choice(_ID_AREAS)
                number = body + "".join(self._rng.choice(_CREDIT_CODE_CHARS) for _ in range(10))
            elif english:
                number = self._rng.choice("125") + self._digits(8)  # a passport number
            else:
                birth = date(1950, 1, 1) + timedelta(days=self._rng.randrange(365 * 53))
                body = self._rng.choice(_ID_AREAS) + birth.strftime("%Y%m%d") + self._digits(3)
                total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
                number = body + _ID_CHECK[total % 11]
            if number not in self._used:
                self._used.add(number)
                return number

    def account(self, type: str) -> str:
        prefix = {"card": "6225", "deposit": "6217", "loan": "5210", "wealth": "8801"}[type]
        length = 19 if type == "deposit" else 16
        while True:
            number = prefix + self._digits(length - len(prefix))
            if number not in self._used:
                self._used.add(number)
                return number


def _tier(rng: random.Random) -> tuple[str, int, int]:
    tier, _, base, cap = rng.choices(_TIERS, weights=[t[1] for t in _TIERS])[0]
    return tier, base, cap


def _name(rng: random.Random, kind: str) -> str:
    english = rng.random() < 0.2
    if kind == "company":
        if english:
            return f"{rng.choice(_EN_COMPANY[0])} {rng.choice(_EN_COMPANY[1])} Ltd"
        city, brand, trade = (rng.choice(part) for part in _CN_COMPANY)
        return f"{city}{brand}{trade}有限公司"
    if english:
        return f"{rng.choice(_EN_FIRST)} {rng.choice(_EN_LAST)}"
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def _accounts(rng: random.Random, numbers: _Numbers, base: int, cap: int) -> list[DemoAccount]:
    aum = min(cap, base * rng.paretovariate(_PARETO_ALPHA))
    kinds = ["deposit"]
    extra = rng.choices([0, 1, 2], weights=[3, 4, 3])[0]
    kinds += rng.sample(["card", "wealth", "loan"], extra)
    invested = aum * rng.uniform(0.3, 0.7) if "wealth" in kinds else 0.0
    out = []
    for kind in kinds:
        if kind == "deposit":
            amount = aum - invested
        elif kind == "wealth":
            amount = invested
        elif kind == "card":
            amount = rng.uniform(0, 30_000)  # statement balance
        else:
            amount = max(20_000.0, base * rng.uniform(1, 5))  # outstanding principal
        balance = Decimal(str(round(amount, 2))).quantize(_CENT)
        out.append(DemoAccount(type=kind, number=numbers.account(kind), balance=balance))
    return out


def aum(person: DemoCustomer) -> Decimal:
    """Assets under management: deposits plus wealth products."""
    return sum((a.balance for a in person.accounts if a.type in {"deposit", "wealth"}), Decimal("0.00"))


def _company_contacts(rng: random.Random, numbers: _Numbers, company: str) -> list[DemoCompanyContact]:
    english = company.isascii()
    domain = "".join(ch for ch in company.lower() if ch.isalpha())[:12] if english else f"corp{len(company)}"
    out = []
    for k in range(rng.randint(1, 3)):
        name = _name(rng, "individual")
        while name.isascii() != english:
            name = _name(rng, "individual")
        title = _CONTACT_TITLES[k % len(_CONTACT_TITLES)][1 if english else 0]
        email = (
            f"{name.lower().replace(' ', '.')}@{domain}.example.com"
            if english
            else f"contact{k + 1}@{domain}.example.cn"
        )
        out.append(DemoCompanyContact(name, title, numbers.mobile().e164, email, is_primary=k == 0))
    return out


def _enrich(
    rng: random.Random, index: int, seed: int, person: DemoCustomer, agents: int, quota: DemoQuota
) -> None:
    """Everything beyond name, phones and balances, from the customer's own generator."""
    assign_owner(rng, person, agents)
    assets = aum(person)
    company = person.kind == "company"
    person.accounts = [
        dataclasses.replace(
            a, transactions=account_transactions(rng, a.type, a.balance, assets, company=company)
        )
        for a in person.accounts
    ]
    maybe_delete(rng, index, person)
    owned = person.owner_index is not None and person.deleted_ago is None
    person.contracts = customer_contracts(rng, f"D{seed}-{index:05d}", assets, owned=owned, quota=quota)
    settle_deal_status(rng, person)
    add_follow_ups(rng, person, quota)
    add_grants(rng, person, agents, quota)


def demo_customers(count: int, agents: int, seed: int) -> list[DemoCustomer]:
    """``count`` deterministic demo customers owned by agents ``0..agents-1`` or in the public pool.

    Customers 0 and 1 share a home landline (the "several matches" case);
    a few have a second phone; some have past calls for their card.  Each
    also gets an ID number, an ownership history, 12 months of
    transactions, follow-ups, contracts and shares (see
    :mod:`crm_core.demo.story` and :mod:`crm_core.demo.ledger`).
    """
    if agents < 1:
        raise ValueError("agents must be >= 1")
    quota = DemoQuota()
    rng = random.Random(seed)
    numbers = _Numbers(rng)
    shared = numbers.landline()
    customers: list[DemoCustomer] = []
    seen_names: set[str] = set()
    for index in range(count):
        # The first two are a couple sharing a home landline.
        kind = "company" if rng.random() < 0.1 and index >= 2 else "individual"
        name = _name(rng, kind)
        for _ in range(20):  # names help identify demo customers on a re-run
            if name not in seen_names:
                break
            name = _name(rng, kind)
        else:
            name = f"{name} {index + 1}"
        seen_names.add(name)
        tier, base, cap = _tier(rng)
        customer = DemoCustomer(name=name, kind=kind, tier=tier, status="public", owner_index=None)
        customer.id_number = numbers.id_number(kind, english=name.isascii())
        if kind == "company":
            customer.phones.append(numbers.landline(type="work", is_primary=True))
        else:
            customer.phones.append(numbers.mobile())
        if index < 2:
            customer.phones.append(shared)
        elif rng.random() < 0.12:
            customer.phones.append(numbers.landline())
        customer.accounts = _accounts(rng, numbers, base, cap)
        if rng.random() < 0.35:
            for k in range(rng.randint(1, 3)):
                customer.contacts.append(
                    DemoContact(
                        call_id=f"demo-{seed}-{index}-{k}",
                        days_ago=timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 600)),
                        talk_seconds=rng.randint(40, 600),
                        disposition=rng.choice(_DISPOSITIONS),
                    )
                )
        if kind == "company":
            customer.company_contacts = _company_contacts(rng, numbers, name)
        _enrich(random.Random(f"demo-{seed}-{index}"), index, seed, customer, agents, quota)
        customers.append(customer)
    return customers
