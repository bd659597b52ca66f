"""CSV import of customers against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.actor import Actor
from crm_core.customers.directory import CustomerDirectory
from crm_core.customers.id_numbers import id_number_hash
from crm_core.errors import AccessDenied, InvalidInput
from crm_core.importing.importer import CustomerImporter, ImportFileError
from crm_core.importing.report import ImportReport
from crm_core.models import Agent, AuditLog, Customer, CustomerContact, OwnershipHistory, PhoneNumber
from crm_core.parameters.store import ParameterStore

PEPPER = b"i" * 32
RESIDENT_ID = "11010519491231002X"  # GB 11643 sample number
OTHER_RESIDENT_ID = "110101199003071233"
SYSTEM = Actor.system("import-test")


@pytest.fixture
def importer(sessions: async_sessionmaker[AsyncSession]) -> CustomerImporter:
    return CustomerImporter(sessions, PEPPER, region="CN", batch_size=64)


async def _agent(
    sessions: async_sessionmaker[AsyncSession], login: str, *, role: str = "agent", active: bool = True
) -> int:
    async with sessions() as session, session.begin():
        agent = Agent(
            login=login,
            name=login.title(),
            password_hash="-",
            extension="",
            device="",
            role=role,
            active=active,
        )
        session.add(agent)
        await session.flush()
        return agent.id


async def _existing(
    sessions: async_sessionmaker[AsyncSession], name: str, phone: str, id_number: str | None = None
) -> int:
    directory = CustomerDirectory(sessions)
    customer_id = await directory.create_customer(name)
    await directory.add_phone(customer_id, phone, "CN", is_primary=True)
    if id_number is not None:
        digest, last4 = id_number_hash(PEPPER, id_number)
        async with sessions() as session, session.begin():
            await session.execute(
                update(Customer)
                .where(Customer.id == customer_id)
                .values(id_number_hash=digest, id_number_last4=last4)
            )
    return customer_id


async def _count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def _audit_rows(sessions: async_sessionmaker[AsyncSession]) -> list[AuditLog]:
    async with sessions() as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == "import")))


def _problems(report: ImportReport) -> list[tuple[int, str | None, str]]:
    return [(p.line, p.column, p.reason) for p in report.problems]


async def test_minimal_file_imports_into_the_public_pool(
    importer: CustomerImporter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    report = await importer.import_bytes(
        SYSTEM, "name,phone\n王伟,138 1234 5678\nAlice Li,010-8888 6666\n".encode()
    )
    assert (report.imported, report.rejected, report.duplicates, report.committed) == (2, 0, 0, True)
    assert report.summary == "imported 2, rejected 0, duplicates 0"
    async with sessions() as session:
        customers = (await session.scalars(select(Customer).order_by(Customer.id))).all()
        phones = (await session.scalars(select(PhoneNumber).order_by(PhoneNumber.id))).all()
    assert [c.id for c in customers] == list(report.customer_ids)
    assert [(c.name, c.kind, c.tier, c.status, c.source, c.deal_status) for c in customers] == [
        ("王伟", "individual", "standard", "public", "import", "none"),
        ("Alice Li", "individual", "standard", "public", "import", "none"),
    ]
    assert all(c.owner_agent_id is None and c.owned_since is None for c in customers)
    assert [(p.raw, p.e164, p.type, p.is_primary) for p in phones] == [
        ("138 1234 5678", "+8613812345678", "mobile", True),
        ("010-8888 6666", "+861088886666", "landline", True),
    ]
    assert await _count(sessions, OwnershipHistory) == 0
    # Imported customers pop on a call like any other.
    cards = await CustomerDirectory(sessions).lookup_by_caller_id("+86 138 1234 5678", "CN")
    assert [c.name for c in cards] == ["王伟"]


async def test_all_columns_owner_history_contact_and_hashed_id(
    importer: CustomerImporter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    agent1 = await _agent(sessions, "agent1")
    agent2 = await _agent(sessions, "agent2")
    admin_id = await _agent(sessions, "boss", role="admin")
    admin = Actor(user_id=admin_id, login="boss", role="admin")
    text = (
        "Name,Phone,Kind,Tier,ID_Number,Phone2,Phone_Type,Email,Owner,Source,Deal_Status\n"
        f"张三,13812345678,individual,VIP,{RESIDENT_ID},02166668888,,zhang@example.cn,,referral,prospect\n"
        "Acme 有限公司,010 8888 6666,company,gold,,,work,ops@acme.cn,agent2,,won\n"
    )
    report = await importer.import_bytes(admin, text.encode(), default_owner="agent1")
    assert report.imported == 2 and report.problems == ()
    assert report.emails_not_stored == 1  # the individual's: only company contacts keep an email
    async with sessions() as session:
        zhang, acme = (await session.scalars(select(Customer).order_by(Customer.id))).all()
        history = (await session.scalars(select(OwnershipHistory).order_by(OwnershipHistory.id))).all()
        contacts = (await session.scalars(select(CustomerContact))).all()
        phone_rows = select(PhoneNumber.customer_id, PhoneNumber.type, PhoneNumber.is_primary)
        phones = (await session.execute(phone_rows.order_by(PhoneNumber.id))).all()
    assert (zhang.tier, zhang.source, zhang.deal_status, zhang.owner_agent_id, zhang.status) == (
        "vip",
        "referral",
        "prospect",
        agent1,
        "owned",
    )
    assert (acme.kind, acme.tier, acme.source, acme.deal_status, acme.owner_agent_id) == (
        "company",
        "gold",
        "import",
        "won",
        agent2,
    )
    assert zhang.owned_since is not None and acme.owned_since is not None
    assert zhang.id_number_hash == id_number_hash(PEPPER, RESIDENT_ID)[0]
    assert zhang.id_number_last4 == "002X" and acme.id_number_hash is None
    assert [(h.customer_id, h.from_owner_id, h.to_owner_id, h.action, h.actor_id) for h in history] == [
        (zhang.id, None, agent1, "import", admin_id),
        (acme.id, None, agent2, "import", admin_id),
    ]
    assert [(c.customer_id, c.name, c.email, c.phone_e164, c.is_primary) for c in contacts] == [
        (acme.id, "Acme 有限公司", "ops@acme.cn", "+861088886666", True)
    ]
    assert phones == [(zhang.id, "mobile", True), (zhang.id, "landline", False), (acme.id, "work", True)]


async def test_every_error_names_row_and_column_and_nothing_is_imported(
    importer: CustomerImporter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _agent(sessions, "agent1")
    await _agent(sessions, "gone", active=False)
    text = (
        "name,phone,kind,tier,id_number,email,owner,source,deal_status\n"
        "Good One,13800000001,,,,,,,\n"  # line 2
        ",13800000002,,,,,,,\n"  # line 3: no name
        "Bad Phone,12ab,,,,,,,\n"  # line 4
        "Bad Kind,13800000004,persn,,,,,,\n"  # line 5
        "Bad Tier,13800000005,,diamond,,,,,\n"  # line 6
        "Bad Id,13800000006,,,110105194912310021,,,,\n"  # line 7
        "Bad Mail,13800000007,,,,me@,,,\n"  # line 8
        "No Agent,13800000008,,,,,nobody,,\n"  # line 9
        "Old Agent,13800000009,,,,,gone,,\n"  # line 10
        "Bad Source,13800000010,,,,,,tv,\n"  # line 11
        "Bad Deal,13800000011,,,,,,,maybe\n"  # line 12
        "Too Many,13800000012,,,,,,,,surplus\n"  # line 13
        "Good Two,13800000013,,,,,agent1,,\n"  # line 14
    )
    report = await importer.import_bytes(SYSTEM, text.encode())
    assert _problems(report) == [
        (3, "name", "a value is required in column 'name'"),
        (4, "phone", "'12ab' is not a phone number"),
        (5, "kind", "'persn' is not one of individual, company"),
        (6, "tier", "'diamond' is not one of gold, private, standard, vip"),
        (7, "id_number", "resident ID number '**************0021' has a wrong check digit"),
        (8, "email", "'me@' is not an email address"),
        (9, "owner", "no agent with login 'nobody'"),
        (10, "owner", "agent 'gone' is not active"),
        (11, "source", "'tv' is not one of walk-in, referral, web, campaign, import, phone, branch"),
        (12, "deal_status", "'maybe' is not one of none, prospect, negotiating, won, lost"),
        (13, None, "10 values but the header has 9 columns"),
    ]
    assert str(report.problems[1]) == "row 4 (phone): '12ab' is not a phone number"
    assert str(report.problems[-1]) == "row 13: 10 values but the header has 9 columns"
    assert (report.rows, report.valid, report.imported, report.rejected, report.duplicates) == (
        13,
        2,
        0,
        11,
        0,
    )
    assert not report.committed and report.customer_ids == ()
    assert await _count(sessions, Customer) == 0 and await _count(sessions, PhoneNumber) == 0
    # The refused attempt is audited all the same.
    (entry,) = await _audit_rows(sessions)
    assert entry.detail is not None and entry.detail["committed"] is False and entry.detail["rejected"] == 11


async def test_duplicates_against_the_database_and_within_the_file(
    importer: CustomerImporter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    known = await _existing(sessions, "Known", "13900000001", RESIDENT_ID)
    deleted = await _existing(sessions, "Deleted", "13900000002", OTHER_RESIDENT_ID)
    await CustomerDirectory(sessions).soft_delete(deleted)
    text = (
        "name,phone,phone2,id_number\n"
        "Same Phone,+86 139 0000 0001,,\n"  # 2: phone of a live customer
        f"Same Id,13900000003,,{RESIDENT_ID.lower()}\n"  # 3: ID number of a live customer
        f"Comes Back,13900000002,,{OTHER_RESIDENT_ID}\n"  # 4: only a deleted customer had these: fine
        "First,13900000004,13900000005,\n"  # 5
        "Second,13900000005,,\n"  # 6: phone2 of row 5
        f"Twin,13900000006,,{OTHER_RESIDENT_ID}\n"  # 7: ID number of row 4
        "Second Phone,13900000007,13900000001,\n"  # 8: phone2 of a live customer
    )
    report = await importer.import_bytes(SYSTEM, text.encode(), skip_bad=True)
    assert _problems(report) == [
        (2, "phone", f"duplicate: +8613900000001 is a phone of customer {known}"),
        (3, "id_number", f"duplicate: ID number **************002X belongs to customer {known}"),
        (6, "phone", "duplicate: +8613900000005 is also the phone of row 5"),
        (7, "id_number", "duplicate: ID number **************1233 is also on row 4"),
        (8, "phone2", f"duplicate: +8613900000001 is a phone of customer {known}"),
    ]
    assert all(p.duplicate for p in report.problems)
    assert (report.imported, report.rejected, report.duplicates) == (2, 0, 5)
    async with sessions() as session:
        names = (
            await session.scalars(select(Customer.name).where(Customer.id.in_(report.customer_ids)))
        ).all()
    assert sorted(names) == ["Comes Back", "First"]


async def test_a_rejected_row_does_not_shadow_a_later_copy(importer: CustomerImporter) -> None:
    text = "name,phone,tier\nFirst,13700000001,bogus\nSecond,13700000001,gold\n"
    report = await importer.import_bytes(SYSTEM, text.encode(), skip_bad=True)
    assert _problems(report) == [(2, "tier", "'bogus' is not one of gold, private, standard, vip")]
    assert (report.imported, report.rejected, report.duplicates) == (1, 1, 0)


async def test_atomic_by_default_skip_bad_imports_the_good_rows(
    importer: CustomerImporter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    text = "name,phone\nA,13600000001\nB,not-a-number\nC,13600000003\n"
    atomic = await importer.import_bytes(SYSTEM, text.encode())
    assert (atomic.imported, atomic.valid, atomic.rejected, atomic.committed) == (0, 2, 1, False)
    assert await _count(sessions, Customer) == 0
    lenient = await importer.import_bytes(SYSTEM, text.encode(), skip_bad=True)
    assert (lenient.imported, lenient.rejected, lenient.committed) == (2, 1, True)
    async with sessions() as session:
        assert sorted((await session.scalars(select(Customer.name))).all()) == ["A", "C"]
    audits = await _audit_rows(sessions)
    assert [(a.detail or {}).get("committed") for a in audits] == [False, True]


async def test_dry_run_validates_and_writes_nothing(
    importer: CustomerImporter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _existing(sessions, "Known", "13500000001")
    text = "name,phone\nNew,13500000002\nKnown Again,13500000001\n"
    report = await importer.import_bytes(SYSTEM, text.encode(), dry_run=True, skip_bad=True)
    assert (report.dry_run, report.committed, report.valid, report.imported, report.duplicates) == (
        True,
        False,
        1,
        0,
        1,
    )
    assert await _count(sessions, Customer) == 1
    assert await _audit_rows(sessions) == []


async def test_audit_entry_has_counts_and_no_personal_data(
    importer: CustomerImporter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    text = f"name,phone,id_number\n李娜,13400000001,{RESIDENT_ID}\nBad,12ab,\n"
    report = await importer.import_bytes(SYSTEM, text.encode(), skip_bad=True)
    (entry,) = await _audit_rows(sessions)
    assert (entry.actor_login, entry.actor_id, entry.entity, entry.entity_id) == (
        "import-test",
        None,
        "customer",
        None,
    )
    detail = entry.detail or {}
    assert {
        k: detail[k] for k in ("rows", "imported", "rejected", "duplicates", "committed", "skip_bad")
    } == {
        "rows": 2,
        "imported": 1,
        "rejected": 1,
        "duplicates": 0,
        "committed": True,
        "skip_bad": True,
    }
    assert detail["first_customer_id"] == detail["last_customer_id"] == report.customer_ids[0]
    dumped = json.dumps(detail, ensure_ascii=False)
    for secret in ("李娜", "13400000001", RESIDENT_ID, "002X", "12ab"):
        assert secret not in dumped


async def test_gb18030_and_semicolon_files(
    importer: CustomerImporter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    gbk = "姓名,手机,客户等级\n张伟,139 1111 2222,贵宾\n王芳,13911113333,gold\n".encode("gb18030")
    report = await importer.import_bytes(SYSTEM, gbk, skip_bad=True)
    assert report.encoding == "GB18030"
    assert _problems(report) == [(2, "tier", "'贵宾' is not one of gold, private, standard, vip")]
    assert report.problems[0].values == ("张伟", "139 1111 2222", "贵宾")
    semicolon = b'name;phone;id_number\n"Li, Lei";+852 5123 4567;E12345678\n'
    report = await importer.import_bytes(SYSTEM, semicolon)
    assert (report.delimiter, report.imported) == ("semicolon", 1)
    async with sessions() as session:
        names = (await session.scalars(select(Customer.name).order_by(Customer.id))).all()
        hk = await session.scalar(
            select(PhoneNumber.e164).where(PhoneNumber.customer_id == report.customer_ids[0])
        )
    assert names == ["王芳", "Li, Lei"] and hk == "+85251234567"


async def test_masked_id_numbers_in_rejected_row_values(importer: CustomerImporter) -> None:
    text = f"name,id_number,phone\nNo Phone,{RESIDENT_ID},\n"
    report = await importer.import_bytes(SYSTEM, text.encode())
    (problem,) = report.problems
    assert (problem.line, problem.column) == (2, "phone")
    assert problem.values == ("No Phone", "**************002X", "")


async def test_five_thousand_rows(
    importer: CustomerImporter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _agent(sessions, "agent1")
    lines = ["name,phone,id_number,owner,tier"]
    for i in range(5000):
        owner = "agent1" if i % 3 == 0 else ""
        id_number = f"E{i:08d}" if i % 2 == 0 else ""
        lines.append(f"Customer {i},139{i:08d},{id_number},{owner},{('standard', 'gold', 'vip')[i % 3]}")
    calls: list[tuple[str, int, int]] = []
    report = await importer.import_bytes(
        SYSTEM, ("\n".join(lines) + "\n").encode(), progress=lambda *a: calls.append(a)
    )
    assert (report.imported, report.problems) == (5000, ())
    assert calls[0] == ("validating", 0, 5000) and calls[-1] == ("importing", 5000, 5000)
    assert [c[1] for c in calls if c[0] == "importing"] == sorted(c[1] for c in calls if c[0] == "importing")
    assert await _count(sessions, Customer) == 5000
    assert await _count(sessions, PhoneNumber) == 5000
    assert await _count(sessions, OwnershipHistory) == 1667
    async with sessions() as session:
        sample = await session.scalar(
            select(Customer).join(PhoneNumber).where(PhoneNumber.e164 == "+8613900004321")
        )
        owned = await session.scalar(select(func.count()).where(Customer.status == "owned"))
    assert sample is not None and (sample.name, sample.tier) == ("Customer 4321", "gold")
    assert owned == 1667
    # The ids come back in file order.
    assert list(report.customer_ids) == sorted(report.customer_ids)
    # A second run finds every row already there.
    again = await importer.import_bytes(SYSTEM, ("\n".join(lines[:101]) + "\n").encode(), skip_bad=True)
    assert (again.imported, again.duplicates) == (0, 100)


async def test_default_owner_must_exist_and_be_active(
    importer: CustomerImporter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _agent(sessions, "retired", active=False)
    for login, message in (
        ("nobody", "no agent with login 'nobody'"),
        ("retired", "agent 'retired' is not active"),
    ):
        with pytest.raises(InvalidInput) as caught:
            await importer.import_bytes(SYSTEM, b"name,phone\nA,13300000001\n", default_owner=login)
        assert (caught.value.field, caught.value.message) == ("owner", message)
    assert await _count(sessions, Customer) == 0


async def test_only_admins_import(
    importer: CustomerImporter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for role in ("agent", "supervisor"):
        with pytest.raises(AccessDenied):
            await importer.import_bytes(
                Actor(user_id=None, login="x", role=role), b"name,phone\nA,13300000001\n"
            )
    assert await _count(sessions, Customer) == 0


async def test_unreadable_file(importer: CustomerImporter, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="cannot read the file: No such file"):
        await importer.import_file(SYSTEM, tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_bytes(b"name,email\n")
    with pytest.raises(ImportFileError, match="no 'phone' column"):
        await importer.import_file(SYSTEM, tmp_path / "bad.csv")


async def test_concurrent_imports_link_every_phone_to_its_own_customer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _existing(sessions, "Already Here", "13100000000")
    files = [
        "name,phone\n" + "".join(f"{prefix}{i},13{digit}{i:08d}\n" for i in range(300))
        for prefix, digit in (("A", 2), ("B", 3), ("C", 5))
    ]
    importers = [CustomerImporter(sessions, PEPPER, region="CN", batch_size=50) for _ in files]
    reports = await asyncio.gather(
        *(imp.import_bytes(SYSTEM, f.encode()) for imp, f in zip(importers, files, strict=True))
    )
    assert [r.imported for r in reports] == [300, 300, 300]
    async with sessions() as session:
        pairs = (await session.execute(select(Customer.name, PhoneNumber.e164).join(PhoneNumber))).all()
    assert len(pairs) == 901
    expected = {f"{p}{i}": f"+8613{d}{i:08d}" for p, d in (("A", 2), ("B", 3), ("C", 5)) for i in range(300)}
    assert {name: e164 for name, e164 in pairs if name != "Already Here"} == expected
    for report, prefix in zip(reports, "ABC", strict=True):
        async with sessions() as session:
            names = (
                await session.scalars(select(Customer.name).where(Customer.id.in_(report.customer_ids)))
            ).all()
        assert sorted(names) == sorted(f"{prefix}{i}" for i in range(300))


async def test_tiers_come_from_the_tier_thresholds_parameter(
    importer: CustomerImporter, sessions: async_sessionmaker[AsyncSession]
) -> None:
    thresholds = {"diamond": "10000000", "vip": "1000000"}
    await ParameterStore(sessions).set(SYSTEM, "tiers.thresholds", thresholds, "new tier names")
    text = "name,phone,tier\nA,13200000001,Diamond\nB,13200000002,gold\nC,13200000003,standard\n"
    report = await importer.import_bytes(SYSTEM, text.encode(), skip_bad=True)
    assert _problems(report) == [(3, "tier", "'gold' is not one of diamond, standard, vip")]
    async with sessions() as session:
        tiers = (await session.scalars(select(Customer.tier).order_by(Customer.id))).all()
    assert tiers == ["diamond", "standard"]
