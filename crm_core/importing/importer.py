"""CSV import of customers: validate every row, find duplicates, write all or nothing.

The whole file is validated first — values (:mod:`crm_core.importing.rows`),
owners, and duplicates against the database and against earlier rows of the
file (same E.164 phone of a live customer, or same ID number through its
peppered hash).  Then, in one transaction, the accepted rows are written in
batches (multi-row ``INSERT … RETURNING``).  By default one bad row means
nothing is written; with ``skip_bad`` the good rows are written and the bad
ones reported.  A dry run writes nothing.

Imported customers have source ``import`` (unless the file says otherwise);
with an owner they are ``owned`` since now, with an ``import`` entry in the
ownership history, otherwise they go to the public pool.  One audit entry
per import carries the counts, never a name, phone or ID number.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.access.audit import audit
from crm_core.actor import Actor
from crm_core.customers.id_numbers import id_number_hash
from crm_core.errors import AccessDenied, InvalidInput
from crm_core.importing.report import ImportReport, RowProblem
from crm_core.importing.rows import ImportRow, RowContext, mask_raw_id_number
from crm_core.importing.source import CsvTable, ImportFileError, read_table
from crm_core.importing.writer import Progress, StagedRow, chunks, write_customers
from crm_core.models import Agent, Customer, PhoneNumber
from crm_core.parameters.store import ParameterStore

__all__ = ["BASE_TIER", "CustomerImporter", "ImportFileError", "Progress"]

log = logging.getLogger(__name__)

#: The tier below every threshold of the ``tiers.thresholds`` parameter.
BASE_TIER = "standard"

_LOOKUP_CHUNK = 500  # values per IN (...) list: well under every driver's parameter limit
_VALIDATE_STEP = 250  # rows between progress reports (and yields to the event loop) while validating


class CustomerImporter:
    """Imports customers from CSV files on behalf of an administrator.

    ``pepper`` is the installation's secret that keys ID-number hashes (the
    same as for account numbers); ``region`` is the default phone region for
    numbers written without a country code; ``tiers`` the tier names a file
    may use (by default :data:`BASE_TIER` and the tiers of the
    ``tiers.thresholds`` parameter, read at each import; empty: any name).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        pepper: bytes,
        *,
        region: str,
        tiers: Collection[str] | None = None,
        batch_size: int = 500,
    ) -> None:
        if len(pepper) < 16:
            raise ValueError("pepper must be at least 16 bytes")
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self._sessions = sessions
        self._pepper = pepper
        self._region = region.upper()
        self._tiers = None if tiers is None else frozenset(t.lower() for t in tiers)
        self._batch_size = batch_size

    async def import_file(
        self,
        actor: Actor,
        path: Path,
        *,
        default_owner: str | None = None,
        skip_bad: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Read ``path`` and import it: see :meth:`import_bytes`.

        Raises :class:`ImportFileError` if the file cannot be read.
        """
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise ImportFileError(f"cannot read the file: {exc.strerror or exc}") from None
        return await self.import_bytes(
            actor, data, default_owner=default_owner, skip_bad=skip_bad, dry_run=dry_run, progress=progress
        )

    async def import_bytes(
        self,
        actor: Actor,
        data: bytes,
        *,
        default_owner: str | None = None,
        skip_bad: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import the customers of the CSV file ``data``.

        ``default_owner`` owns the rows without an ``owner`` value.  Only an
        admin (or the system) imports: :class:`AccessDenied` otherwise.
        Raises :class:`ImportFileError` when the file as a whole is unusable
        and :class:`InvalidInput` (field ``owner``) for an unknown or
        inactive ``default_owner``; row problems are in the report.
        """
        if not actor.is_admin:
            raise AccessDenied("only an administrator imports customers")
        report = progress or (lambda phase, done, total: None)
        table = read_table(data)
        context = RowContext(region=self._region, tiers=await self._known_tiers())
        rows = await self._validate(table, context, report)
        async with self._sessions() as session, session.begin():
            owner_id = await self._default_owner(session, default_owner)
            await self._check_owners(session, rows, owner_id)
            await self._check_duplicates(session, rows)
            accepted = [r for r in rows if not r.problems]
            write = not dry_run and (skip_bad or len(accepted) == len(rows))
            ids: list[int] = []
            if write:
                ids = await write_customers(
                    session, actor, accepted, batch_size=self._batch_size, progress=report
                )
            result = self._report(table, rows, ids, dry_run=dry_run, committed=write)
            if not dry_run:
                await audit(
                    session, actor, "import", "customer", None, self._audit_detail(data, result, skip_bad)
                )
        log.info(
            "crm.import",
            extra={
                "rows": result.rows,
                "imported": result.imported,
                "rejected": result.rejected,
                "duplicates": result.duplicates,
                "dry_run": dry_run,
                "committed": result.committed,
            },
        )
        return result

    async def _known_tiers(self) -> frozenset[str]:
        if self._tiers is not None:
            return self._tiers
        thresholds = await ParameterStore(self._sessions).get("tiers.thresholds")
        return frozenset({BASE_TIER, *(str(tier).lower() for tier in thresholds)})

    async def _validate(self, table: CsvTable, context: RowContext, report: Progress) -> list[StagedRow]:
        total = len(table.records)
        width = len(table.header)
        report("validating", 0, total)
        rows: list[StagedRow] = []
        for index, record in enumerate(table.records, start=1):
            parsed, problems = ImportRow.parse(table.values(record), context)
            row = StagedRow(record=record, parsed=parsed, problems=[(c, r, False) for c, r in problems])
            if len(record.fields) > width and any(f.strip() for f in record.fields[width:]):
                row.problems.insert(
                    0, (None, f"{len(record.fields)} values but the header has {width} columns", False)
                )
            if parsed is not None and parsed.id_number is not None:
                row.id_hash, row.id_last4 = id_number_hash(self._pepper, parsed.id_number)
            rows.append(row)
            if index % _VALIDATE_STEP == 0 or index == total:
                report("validating", index, total)
                # Validation is CPU work: let the rest of the process breathe between slices.
                await asyncio.sleep(0)
        return rows

    async def _agents(self, session: AsyncSession, logins: Collection[str]) -> dict[str, tuple[int, bool]]:
        found: dict[str, tuple[int, bool]] = {}
        for chunk in chunks(sorted(logins), _LOOKUP_CHUNK):
            result = await session.execute(
                select(Agent.login, Agent.id, Agent.active).where(Agent.login.in_(chunk))
            )
            found.update({login: (agent_id, active) for login, agent_id, active in result})
        return found

    async def _default_owner(self, session: AsyncSession, login: str | None) -> int | None:
        if login is None:
            return None
        agent = (await self._agents(session, [login])).get(login)
        if agent is None:
            raise InvalidInput("owner", f"no agent with login {login!r}")
        if not agent[1]:
            raise InvalidInput("owner", f"agent {login!r} is not active")
        return agent[0]

    async def _check_owners(
        self, session: AsyncSession, rows: list[StagedRow], default_id: int | None
    ) -> None:
        logins = {r.parsed.owner for r in rows if r.parsed is not None and r.parsed.owner is not None}
        agents = await self._agents(session, logins)
        for row in rows:
            if row.parsed is None:
                continue
            login = row.parsed.owner
            if login is None:
                row.owner_id = default_id
            elif login not in agents:
                row.problems.append(("owner", f"no agent with login {login!r}", False))
            elif not agents[login][1]:
                row.problems.append(("owner", f"agent {login!r} is not active", False))
            else:
                row.owner_id = agents[login][0]

    async def _existing(
        self, session: AsyncSession, column: Any, join_on: ColumnElement[bool] | None, values: set[str]
    ) -> dict[str, int]:
        """``value → lowest id of a live customer having it`` for ``column``."""
        found: dict[str, int] = {}
        for chunk in chunks(sorted(values), _LOOKUP_CHUNK):
            query = select(column, func.min(Customer.id))
            if join_on is not None:
                query = query.join(Customer, join_on)
            query = query.where(column.in_(chunk), Customer.deleted_at.is_(None)).group_by(column)
            found.update({value: customer_id for value, customer_id in await session.execute(query)})
        return found

    async def _check_duplicates(self, session: AsyncSession, rows: list[StagedRow]) -> None:
        phones = {p.e164 for r in rows if r.parsed is not None for p in r.parsed.phones}
        hashes = {r.id_hash for r in rows if r.id_hash is not None}
        known_phones = await self._existing(
            session, PhoneNumber.e164, PhoneNumber.customer_id == Customer.id, phones
        )
        known_ids = await self._existing(session, Customer.id_number_hash, None, hashes)
        # Only rows that will be written claim their keys: a later copy of a rejected row may still go in.
        phone_lines: dict[str, int] = {}
        id_lines: dict[str, int] = {}
        for row in rows:
            if row.parsed is None:
                continue
            for column, phone in zip(("phone", "phone2"), row.parsed.phones, strict=False):
                if phone.e164 in known_phones:
                    reason = f"duplicate: {phone.e164} is a phone of customer {known_phones[phone.e164]}"
                    row.problems.append((column, reason, True))
                elif phone.e164 in phone_lines:
                    reason = f"duplicate: {phone.e164} is also the phone of row {phone_lines[phone.e164]}"
                    row.problems.append((column, reason, True))
            if row.id_hash is not None:
                masked = mask_raw_id_number(row.parsed.id_number or "")
                if row.id_hash in known_ids:
                    reason = f"duplicate: ID number {masked} belongs to customer {known_ids[row.id_hash]}"
                    row.problems.append(("id_number", reason, True))
                elif row.id_hash in id_lines:
                    reason = f"duplicate: ID number {masked} is also on row {id_lines[row.id_hash]}"
                    row.problems.append(("id_number", reason, True))
            if not row.problems:
                for phone in row.parsed.phones:
                    phone_lines[phone.e164] = row.record.line
                if row.id_hash is not None:
                    id_lines[row.id_hash] = row.record.line

    def _report(
        self, table: CsvTable, rows: list[StagedRow], ids: list[int], *, dry_run: bool, committed: bool
    ) -> ImportReport:
        id_positions = [i for i, c in enumerate(table.columns) if c == "id_number"]
        problems: list[RowProblem] = []
        rejected = duplicates = valid = emails_dropped = 0
        for row in rows:
            if not row.problems:
                valid += 1
                parsed = row.parsed
                if parsed is not None and parsed.kind == "individual" and parsed.email is not None:
                    emails_dropped += 1
                continue
            if row.invalid:
                rejected += 1
            else:
                duplicates += 1
            values = tuple(
                mask_raw_id_number(v) if i in id_positions and v.strip() else v
                for i, v in enumerate(row.record.fields)
            )
            problems.extend(
                RowProblem(line=row.record.line, column=c, reason=r, duplicate=d, values=values)
                for c, r, d in row.problems
            )
        return ImportReport(
            encoding=table.encoding,
            delimiter=table.delimiter_name,
            header=table.header,
            ignored_columns=table.ignored_columns,
            rows=len(rows),
            valid=valid,
            imported=len(ids),
            rejected=rejected,
            duplicates=duplicates,
            dry_run=dry_run,
            committed=committed,
            emails_not_stored=emails_dropped,
            customer_ids=tuple(ids),
            problems=tuple(problems),
        )

    @staticmethod
    def _audit_detail(data: bytes, result: ImportReport, skip_bad: bool) -> dict[str, Any]:
        # Counts and a fingerprint of the file only: no name, phone or ID number.
        return {
            "rows": result.rows,
            "imported": result.imported,
            "rejected": result.rejected,
            "duplicates": result.duplicates,
            "committed": result.committed,
            "skip_bad": skip_bad,
            "encoding": result.encoding,
            "file_sha256": hashlib.sha256(data).hexdigest(),
            "first_customer_id": min(result.customer_ids, default=None),
            "last_customer_id": max(result.customer_ids, default=None),
        }
