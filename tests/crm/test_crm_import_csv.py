"""Reading customer CSV files: encodings, delimiters, headers, line numbers (no database)."""

from __future__ import annotations

import pytest

from crm_core.importing.source import ImportFileError, canonical_column, decode, read_table


def test_minimal_name_phone_file() -> None:
    table = read_table(b"name,phone\nAlice,13812345678\n")
    assert (table.encoding, table.delimiter, table.delimiter_name) == ("UTF-8", ",", "comma")
    assert table.header == ("name", "phone")
    assert [(r.line, r.fields) for r in table.records] == [(2, ("Alice", "13812345678"))]
    assert table.values(table.records[0]) == {"name": "Alice", "phone": "13812345678"}


def test_bom_and_case_insensitive_headers_with_aliases() -> None:
    data = "\ufeffName, PHONE ,ID Number,Phone-Type,Remarks\r\nBob,13812345678,X1234567,mobile,hi\r\n"
    table = read_table(data.encode("utf-8"))
    assert table.encoding == "UTF-8"
    assert table.columns == ("name", "phone", "id_number", "phone_type", None)
    assert table.ignored_columns == ("Remarks",)
    assert table.values(table.records[0])["id_number"] == "X1234567"


def test_chinese_headers_are_understood() -> None:
    assert [canonical_column(h) for h in ("姓名", "手机号", "身份证号", "客户经理", "邮箱")] == [
        "name",
        "phone",
        "id_number",
        "owner",
        "email",
    ]
    assert canonical_column("favourite colour") is None


def test_gb18030_fallback_when_not_utf8() -> None:
    data = "姓名,电话\n张三,13812345678\n李四,010-88886666\n".encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    table = read_table(data)
    assert table.encoding == "GB18030"
    assert [table.values(r)["name"] for r in table.records] == ["张三", "李四"]


def test_utf16_with_bom_as_excel_unicode_text() -> None:
    table = read_table("name\tphone\n王五\t13812345678\n".encode("utf-16"))
    assert (table.encoding, table.delimiter_name) == ("UTF-16", "tab")
    assert table.values(table.records[0]) == {"name": "王五", "phone": "13812345678"}


@pytest.mark.parametrize(
    ("text", "name"), [("name;phone\nA;1\n", "semicolon"), ("name\tphone\nA\t1\n", "tab")]
)
def test_delimiter_is_sniffed_from_the_header(text: str, name: str) -> None:
    table = read_table(text.encode())
    assert table.delimiter_name == name
    assert table.values(table.records[0]) == {"name": "A", "phone": "1"}


def test_semicolon_file_with_commas_inside_values() -> None:
    table = read_table(b'name;phone;tier\n"Li, Ming";138 1234 5678;gold\n')
    assert table.values(table.records[0]) == {"name": "Li, Ming", "phone": "138 1234 5678", "tier": "gold"}


def test_line_numbers_count_the_header_blank_lines_and_multiline_values() -> None:
    text = 'name,phone\n"Two\nlines",13800000001\n\nThird,13800000002\n'
    table = read_table(text.encode())
    assert [r.line for r in table.records] == [2, 5]
    assert table.records[0].fields[0] == "Two\nlines"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\n \n", "empty"),
        (b"name,email\nA,a@b.cn\n", "no 'phone' column"),
        (b"phone\n13812345678\n", "no 'name' column"),
        (b"name,phone,mobile\nA,1,2\n", "'phone' appears twice"),
        (b"PK\x03\x04\x00\x00binary", "binary data"),
        (b'name,phone\n"unterminated,1\n', r"line 2: malformed CSV \(unexpected end of data\)"),
        (b"name,phone\n\xff\xfe\xfd\x80\n", None),
    ],
)
def test_unusable_files_raise_a_clear_error(data: bytes, message: str | None) -> None:
    if message is None:
        # 0xff 0xfe starts a UTF-16 byte-order mark only at the very beginning: here it is just bad bytes.
        with pytest.raises(
            ImportFileError, match=r"neither UTF-8 \(bad byte 0xff at offset 11\) nor GB18030"
        ):
            read_table(data)
        return
    with pytest.raises(ImportFileError, match=message):
        read_table(data)


def test_decode_reports_the_encoding() -> None:
    assert decode("é".encode()) == ("é", "UTF-8")
    assert decode("\ufeffé".encode()) == ("é", "UTF-8")
    assert decode("客户".encode("gb18030")) == ("客户", "GB18030")
