"""Reading a customer CSV file: encoding, delimiter, header and records with their line numbers.

Spreadsheets export CSV in many shapes.  This module accepts UTF-8 (with or
without a byte-order mark), UTF-16 with a byte-order mark (Excel's "Unicode
text"), and falls back to GB18030 — a superset of GBK and GB2312, what a
Chinese Excel writes — when the bytes are not UTF-8.  The delimiter (comma,
semicolon or tab) is the one the header line uses most.  Header names are
matched case-insensitively; spaces and dashes count as underscores, and a
few common English and Chinese synonyms are understood (``mobile``, ``姓名``,
``身份证号``…).

Nothing here knows about customers beyond the column names: the rows are
validated by :mod:`crm_core.importing.rows`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from crm_core.errors import CrmError

__all__ = [
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "CsvRecord",
    "CsvTable",
    "ImportFileError",
    "canonical_column",
    "decode",
    "read_table",
]

#: Every column the importer understands, in the order the docs list them.
COLUMNS = (
    "name",
    "phone",
    "kind",
    "tier",
    "id_number",
    "phone2",
    "phone_type",
    "email",
    "owner",
    "source",
    "deal_status",
)
REQUIRED_COLUMNS = ("name", "phone")

_ALIASES = {
    "customer": "name",
    "customer_name": "name",
    "full_name": "name",
    "姓名": "name",
    "名称": "name",
    "客户名称": "name",
    "客户姓名": "name",
    "mobile": "phone",
    "phone1": "phone",
    "phone_number": "phone",
    "tel": "phone",
    "telephone": "phone",
    "手机": "phone",
    "手机号": "phone",
    "手机号码": "phone",
    "电话": "phone",
    "电话号码": "phone",
    "联系电话": "phone",
    "phone_2": "phone2",
    "second_phone": "phone2",
    "备用电话": "phone2",
    "电话2": "phone2",
    "customer_type": "kind",
    "客户类型": "kind",
    "等级": "tier",
    "客户等级": "tier",
    "idnumber": "id_number",
    "id_no": "id_number",
    "id_card": "id_number",
    "证件号": "id_number",
    "证件号码": "id_number",
    "身份证": "id_number",
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "电话类型": "phone_type",
    "e_mail": "email",
    "mail": "email",
    "邮箱": "email",
    "电子邮箱": "email",
    "电子邮件": "email",
    "owner_login": "owner",
    "agent": "owner",
    "客户经理": "owner",
    "负责人": "owner",
    "来源": "source",
    "客户来源": "source",
    "deal": "deal_status",
    "成交状态": "deal_status",
}
_DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
_SEPARATORS = re.compile(r"[\s\-]+")


class ImportFileError(CrmError):
    """The file as a whole cannot be imported (unreadable, undecodable, no usable header)."""


@dataclass(frozen=True)
class CsvRecord:
    """One data record: ``line`` is where it starts in the file (the header is line 1)."""

    line: int
    fields: tuple[str, ...]


@dataclass(frozen=True)
class CsvTable:
    """A decoded file: its encoding, delimiter, header and data records."""

    encoding: str
    delimiter: str
    header: tuple[str, ...]
    #: Canonical column of each header position (``None``: a column the importer ignores).
    columns: tuple[str | None, ...]
    records: tuple[CsvRecord, ...]

    @property
    def delimiter_name(self) -> str:
        return _DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))

    @property
    def ignored_columns(self) -> tuple[str, ...]:
        return tuple(h for h, c in zip(self.header, self.columns, strict=True) if c is None)

    def values(self, record: CsvRecord) -> dict[str, str]:
        """The record's values by canonical column (ignored columns left out)."""
        return {
            column: value
            for column, value in zip(self.columns, record.fields, strict=False)
            if column is not None
        }


def canonical_column(name: str) -> str | None:
    """The importer's name for header cell ``name``, or ``None`` if it is not one of :data:`COLUMNS`."""
    key = _SEPARATORS.sub("_", name.strip().strip('"').strip().lower()).strip("_")
    key = _ALIASES.get(key, key)
    return key if key in COLUMNS else None


def decode(data: bytes) -> tuple[str, str]:
    """Return ``(text, encoding name)``; raise :class:`ImportFileError` if no encoding fits.

    UTF-16 needs a byte-order mark; otherwise strict UTF-8 is tried first and
    GB18030 second.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"not valid UTF-16 despite its byte-order mark (offset {exc.start})"
            ) from None
    if b"\x00" in data:
        raise ImportFileError("binary data, not a CSV text file (an .xlsx workbook? save it as CSV)")
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030"), "GB18030"
        except UnicodeDecodeError:
            raise ImportFileError(
                f"neither UTF-8 (bad byte 0x{data[utf8_error.start]:02x} at offset {utf8_error.start})"
                " nor GB18030: save the file as UTF-8 CSV"
            ) from None


def _sniff_delimiter(header_line: str) -> str:
    # The header holds plain names, so the delimiter is simply the character it uses most.
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_table(data: bytes) -> CsvTable:
    """Decode ``data`` and split it into header and records.

    Blank lines are skipped (line numbers still count them).  Raises
    :class:`ImportFileError` for an empty file, undecodable bytes, a header
    missing a required column or naming one twice, or malformed CSV
    (an unterminated quote, an oversized field).
    """
    text, encoding = decode(data)
    if not text.strip():
        raise ImportFileError("the file is empty")
    first_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = _sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: tuple[str, ...] | None = None
    records: list[CsvRecord] = []
    last_line = 0
    try:
        for fields in reader:
            start, last_line = last_line + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if header is None:
                header = tuple(f.strip() for f in fields)
                continue
            records.append(CsvRecord(line=start, fields=tuple(fields)))
    except csv.Error as exc:
        # Name the line where the broken record starts: with an unclosed quote that is the useful one.
        raise ImportFileError(f"line {last_line + 1}: malformed CSV ({exc})") from None
    assert header is not None  # the text is not blank, so some record had a value
    columns = tuple(canonical_column(h) for h in header)
    for required in REQUIRED_COLUMNS:
        if required not in columns:
            found = ", ".join(repr(h) for h in header)
            separated = _DELIMITER_NAMES[delimiter]
            raise ImportFileError(
                f"no {required!r} column in the header (found {found}; {separated}-separated)"
            )
    seen: set[str] = set()
    for name, column in zip(header, columns, strict=True):
        if column is None:
            continue
        if column in seen:
            raise ImportFileError(f"column {column!r} appears twice in the header (as {name!r})")
        seen.add(column)
    return CsvTable(
        encoding=encoding, delimiter=delimiter, header=header, columns=columns, records=tuple(records)
    )
