"""SQL Server and Oracle discovery mapping, on catalog rows shaped as each engine documents them (sys.* views;
ALL_TABLES / ALL_TAB_COLUMNS / ALL_CONS_COLUMNS), the pushed-down filters, the bound, and the error mapping."""

from __future__ import annotations

import pytest

from datasource_registry.connectors import oracle, sqlserver
from datasource_registry.connectors.errors import ErrorCode
from datasource_registry.connectors.names import NameFilter
from datasource_registry.connectors.sql_like import like_of, pushed_exclude, pushed_include
from datasource_registry.discovered import Column

EVERYTHING = NameFilter()

# --- SQL Server ------------------------------------------------------------------------------------------------------
# sys.objects.type is char(2): 'U ' a user table, 'V ' a view (trailing blank included); sys.partitions.rows bigint.
MSSQL_TABLES = [
    (581577110, "dbo", "customers", "U ", 3),
    (613577224, "dbo", "active_customers", "V ", None),
    (645577338, "sales", "order_lines", "U ", 120),
]
# (object_id, name, type as COLUMNS_SQL formats it, is_nullable bit, OBJECT_DEFINITION(default), column_id, key_ordinal)
MSSQL_COLUMNS = [
    (581577110, "id", "bigint", False, None, 1, 1),
    (581577110, "email", "nvarchar(200)", False, None, 2, None),
    (581577110, "status", "varchar(10)", True, "('new')", 3, None),
    (613577224, "id", "bigint", False, None, 1, None),
    (645577338, "order_id", "int", False, None, 1, 2),
    (645577338, "line_no", "smallint", False, None, 2, 1),
    (645577338, "amount", "decimal(12,2)", True, None, 3, None),
]


def test_sqlserver_rows_become_tables_views_columns_keys_and_estimates() -> None:
    schema = sqlserver.schema_of(MSSQL_TABLES, iter(MSSQL_COLUMNS), EVERYTHING)

    by_name = {t.qualified_name: t for t in schema.tables}
    assert list(by_name) == ["dbo.active_customers", "dbo.customers", "sales.order_lines"]
    customers = by_name["dbo.customers"]
    assert customers.kind == "table"
    assert customers.estimated_rows == 3
    assert customers.primary_key == ["id"]
    assert customers.columns == [
        Column("id", "bigint", False, None, 1),
        Column("email", "nvarchar(200)", False, None, 2),
        Column("status", "varchar(10)", True, "('new')", 3),
    ]
    assert by_name["dbo.active_customers"].kind == "view"
    assert by_name["dbo.active_customers"].estimated_rows is None
    # key_ordinal, not column order: the key is (line_no, order_id)
    assert by_name["sales.order_lines"].primary_key == ["line_no", "order_id"]
    assert schema.details == {}


def test_sqlserver_filters_keep_only_matching_tables_and_their_columns() -> None:
    names = NameFilter(include=["dbo.*"], exclude=["dbo.active_*"])

    schema = sqlserver.schema_of(MSSQL_TABLES, iter(MSSQL_COLUMNS), names)

    assert [t.qualified_name for t in schema.tables] == ["dbo.customers"]


def test_sqlserver_discovery_is_bounded_and_columns_past_the_bound_are_never_held() -> None:
    tables = [(n, "dbo", f"t{n:05d}", "U ", 0) for n in range(sqlserver.MAX_TABLES + 1)]
    columns = ((n, "id", "int", False, None, 1, 1) for n in range(sqlserver.MAX_TABLES + 1))

    schema = sqlserver.schema_of(tables, columns, EVERYTHING)

    assert len(schema.tables) == sqlserver.MAX_TABLES
    assert schema.details == {"truncatedAt": sqlserver.MAX_TABLES}
    assert "t10000" not in {t.name for t in schema.tables}
    assert all(t.columns for t in schema.tables)


def test_sqlserver_where_clause_pushes_schema_and_globs_as_binary_collation_likes() -> None:
    where, params = sqlserver.filters("sales", NameFilter(include=["sales.order_*", "sales.t?"], exclude=["*_tmp"]))

    assert "s.name = %(schema)s" in where
    assert "COLLATE Latin1_General_BIN2 LIKE %(i0)s" in where
    assert "NOT (" in where
    assert params == {"schema": "sales", "i0": "sales.order[_]%", "i1": "sales.t_", "e0": "%[_]tmp"}
    assert "'sys'" in where  # system schemas are left out
    for value in params.values():
        assert value not in where  # values travel as parameters only


def test_sqlserver_queries_are_set_based_and_bounded() -> None:
    assert "TOP ({limit})" in sqlserver.TABLES_SQL
    assert "index_id IN (0, 1)" in sqlserver.TABLES_SQL
    assert "is_primary_key = 1" in sqlserver.COLUMNS_SQL
    assert "{where}" in sqlserver.COLUMNS_SQL


# --- Oracle -----------------------------------------------------------------------------------------------------------
# ALL_TABLES.NUM_ROWS is NULL until statistics are gathered; names are upper case unless quoted at creation.
ORA_TABLES = [
    ("APP", "CUSTOMERS", "TABLE", 3),
    ("APP", "ACTIVE_CUSTOMERS", "VIEW", None),
    ("SALES", "ORDER_LINES", "TABLE", None),
]
# ALL_TAB_COLUMNS: owner, table_name, column_name, data_type, data_length, data_precision, data_scale, char_length,
# char_used ('B'/'C', NULL for non-character), nullable ('Y'/'N'), data_default (LONG, as text), column_id
ORA_COLUMNS = [
    ("APP", "ACTIVE_CUSTOMERS", "ID", "NUMBER", 22, None, None, 0, None, "N", None, 1),
    ("APP", "CUSTOMERS", "ID", "NUMBER", 22, 19, 0, 0, None, "N", None, 1),
    ("APP", "CUSTOMERS", "EMAIL", "VARCHAR2", 800, None, None, 200, "C", "N", None, 2),
    ("APP", "CUSTOMERS", "STATUS", "VARCHAR2", 10, None, None, 10, "B", "Y", "'new' ", 3),
    ("APP", "CUSTOMERS", "CREATED", "TIMESTAMP(6)", 11, None, 6, 0, None, "Y", "SYSTIMESTAMP\n", 4),
    ("SALES", "ORDER_LINES", "ORDER_ID", "NUMBER", 22, None, 0, 0, None, "N", None, 1),
    ("SALES", "ORDER_LINES", "LINE_NO", "NUMBER", 22, 5, 0, 0, None, "N", None, 2),
    ("SALES", "ORDER_LINES", "AMOUNT", "NUMBER", 22, 12, 2, 0, None, "Y", None, 3),
    ("SALES", "ORDER_LINES", "NOTE", "NVARCHAR2", 200, None, None, 100, "C", "Y", None, 4),
]
# ALL_CONS_COLUMNS of constraint_type 'P': owner, table_name, column_name, position
ORA_KEYS = [
    ("APP", "CUSTOMERS", "ID", 1),
    ("SALES", "ORDER_LINES", "ORDER_ID", 2),
    ("SALES", "ORDER_LINES", "LINE_NO", 1),
]


def test_oracle_rows_become_tables_views_columns_keys_and_estimates() -> None:
    schema = oracle.schema_of(ORA_TABLES, iter(ORA_COLUMNS), ORA_KEYS, EVERYTHING)

    by_name = {t.qualified_name: t for t in schema.tables}
    assert list(by_name) == ["APP.ACTIVE_CUSTOMERS", "APP.CUSTOMERS", "SALES.ORDER_LINES"]
    customers = by_name["APP.CUSTOMERS"]
    assert customers.estimated_rows == 3
    assert customers.primary_key == ["ID"]
    assert customers.columns == [
        Column("ID", "NUMBER(19)", False, None, 1),
        Column("EMAIL", "VARCHAR2(200 CHAR)", False, None, 2),
        Column("STATUS", "VARCHAR2(10 BYTE)", True, "'new'", 3),
        Column("CREATED", "TIMESTAMP(6)", True, "SYSTIMESTAMP", 4),
    ]
    assert by_name["APP.ACTIVE_CUSTOMERS"].kind == "view"
    lines = by_name["SALES.ORDER_LINES"]
    assert lines.estimated_rows is None
    assert lines.primary_key == ["LINE_NO", "ORDER_ID"]
    assert [c.type for c in lines.columns] == ["NUMBER(*,0)", "NUMBER(5)", "NUMBER(12,2)", "NVARCHAR2(100)"]


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("NUMBER", 22, None, None, 0, None), "NUMBER"),
        (("FLOAT", 22, 126, None, 0, None), "FLOAT(126)"),
        (("CHAR", 1, None, None, 1, "B"), "CHAR(1 BYTE)"),
        (("RAW", 16, None, None, 0, None), "RAW(16)"),
        (("CLOB", 4000, None, None, 0, None), "CLOB"),
        (("DATE", 7, None, None, 0, None), "DATE"),
    ],
)
def test_oracle_types_read_as_ddl_writes_them(parts: tuple[object, ...], expected: str) -> None:
    assert oracle.type_name(*parts) == expected  # type: ignore[arg-type]


def test_oracle_discovery_is_bounded() -> None:
    tables = [("APP", f"T{n:05d}", "TABLE", 0) for n in range(oracle.MAX_TABLES + 1)]
    columns = (("APP", f"T{n:05d}", "ID", "NUMBER", 22, None, None, 0, None, "N", None, 1) for n in range(10_001))

    schema = oracle.schema_of(tables, columns, [], EVERYTHING)

    assert len(schema.tables) == oracle.MAX_TABLES
    assert schema.details == {"truncatedAt": oracle.MAX_TABLES}
    assert all(len(t.columns) == 1 for t in schema.tables)


def test_oracle_where_clause_excludes_oracle_maintained_schemas_and_binds_every_value() -> None:
    where, params = oracle.filters(None, NameFilter(include=["APP.*"], exclude=["APP.TMP_[0-9]", "APP.X%"]))

    assert "oracle_maintained = 'N'" in where
    assert "LIKE :i0 ESCAPE '\\'" in where
    # the class cannot be written in Oracle's LIKE: that exclude is left to NameFilter, the literal % is escaped
    assert params == {"i0": "APP.%", "e0": "APP.X\\%"}


def test_oracle_where_clause_names_the_owner_when_a_schema_is_given() -> None:
    where, params = oracle.filters("APP", NameFilter())

    assert where == "t.owner = :owner"
    assert params == {"owner": "APP"}


# --- LIKE pushdown -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("glob", "brackets", "text", "exact"),
    [
        ("dbo.*", True, "dbo.%", True),
        ("dbo.t?", True, "dbo.t_", True),
        ("a_b%c\\[d", True, "a[_]b[%]c[[]d", True),  # a bracketed wildcard is itself (T-SQL LIKE docs)
        ("dbo.[a-c]x", True, "dbo.[a-c]x", True),
        ("dbo.[!a-c]x", True, "dbo.[^a-c]x", True),
        ("dbo.[]]x", True, "dbo._x", False),  # a class T-SQL would read differently: any one character
        ("APP.[AB]", False, "APP._", False),  # Oracle's LIKE has no classes
        ("A_B%C\\\\D", False, "A\\_B\\%C\\\\D", True),
        ("x.\\*", False, "x.*", True),  # an escaped star is a literal star
    ],
)
def test_globs_become_like_patterns(glob: str, brackets: bool, text: str, exact: bool) -> None:
    like = like_of(glob, brackets=brackets)

    assert (like.text, like.exact) == (text, exact)


def test_only_exact_excludes_are_pushed_and_includes_always_are() -> None:
    assert pushed_include(["APP.[AB]"], brackets=False) == ["APP._"]
    assert pushed_exclude(["APP.[AB]", "APP.C*"], brackets=False) == ["APP.C%"]
    assert pushed_include([], brackets=False) is None


# --- errors ------------------------------------------------------------------------------------------------------------


def _tds_error(number: int) -> Exception:
    import pytds

    error = pytds.OperationalError(f"SQL Server message {number}")
    error.msg_no = number
    return error


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (18456, ErrorCode.AUTH_FAILED),  # Login failed for user
        (4060, ErrorCode.NOT_FOUND),  # Cannot open database requested by the login
        (229, ErrorCode.PERMISSION_DENIED),  # The SELECT permission was denied
        (1222, ErrorCode.TIMEOUT),  # Lock request time out period exceeded
    ],
)
def test_sqlserver_error_numbers_map_to_stable_codes(number: int, code: ErrorCode) -> None:
    assert sqlserver._classify(_tds_error(number)) == code


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("ORA-01017: invalid credential or not authorized; logon denied", ErrorCode.AUTH_FAILED),
        ("ORA-28000: The account is locked.", ErrorCode.AUTH_FAILED),
        (
            "DPY-6005: cannot connect to database. ORA-12514: Cannot connect to database. Service X is not registered",
            ErrorCode.NOT_FOUND,
        ),
        ("ORA-12505: Cannot connect to database. SID X is not registered with the listener", ErrorCode.NOT_FOUND),
        ("ORA-01045: Login denied. User APP does not have CREATE SESSION privilege.", ErrorCode.PERMISSION_DENIED),
        ("DPY-4024: call timeout of 1000 ms exceeded", ErrorCode.TIMEOUT),
        ('DPY-6006: The name on the server certificate does not match the expected value: "db"', ErrorCode.TLS_FAILED),
        ("DPY-6000: Listener refused connection. (Similar to ORA-12514)", ErrorCode.NOT_FOUND),
        (
            "DPY-3010: connections to this database server version are not supported by python-oracledb in thin mode",
            ErrorCode.UNSUPPORTED,
        ),
    ],
)
def test_oracle_errors_map_to_stable_codes(message: str, code: ErrorCode) -> None:
    import oracledb

    assert oracle._classify(oracledb.DatabaseError(message)) == code


# --- the TLS name check (python-tds's own needs what pyOpenSSL 26 removed) --------------------------------------------


def _certificate(common_name: str, dns: list[str] | None = None, ips: list[str] | None = None) -> object:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(hours=1))
    )
    if dns is not None or ips is not None:
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns or []]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips or []]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, hashes.SHA256())


@pytest.mark.parametrize(
    ("certificate", "name", "matches"),
    [
        (("db.example.com", ["db.example.com"]), "db.example.com", True),
        (("db.example.com", ["db.example.com"]), "DB.Example.com", True),
        (("other", ["db.example.com"]), "db.example.com", True),  # the SAN, not the CN, decides
        (("db.example.com", ["other.example.com"]), "db.example.com", False),  # a CN is ignored beside SANs
        (("x", ["*.database.windows.net"]), "srv1.database.windows.net", True),
        (("x", ["*.database.windows.net"]), "a.srv1.database.windows.net", False),  # one label only
        (("x", ["*.net"]), "windows.net", False),
        (("x", ["*.database.windows.net"]), "database.windows.net", False),
        (("x", [], ["10.0.0.5"]), "10.0.0.5", True),
        (("10.0.0.5", ["10.0.0.5"]), "10.0.0.5", False),  # an IP must be an IP SAN
        (("db.example.com", None), "db.example.com", True),  # no SAN at all: the CN
        (("db.example.com", None), "other.example.com", False),
    ],
)
def test_sqlserver_certificate_names_are_matched_as_rfc_6125_says(
    certificate: tuple[object, ...], name: str, matches: bool
) -> None:
    assert sqlserver.certificate_matches(_certificate(*certificate), name) is matches  # type: ignore[arg-type]


def test_the_bundle_file_for_pyopenssl_holds_the_system_cas_and_the_source_ca_and_is_removed_after_the_call() -> None:
    import os
    import ssl
    from contextlib import ExitStack
    from pathlib import Path

    from datasource_registry.connectors import trust
    from datasource_registry.connectors.errors import ConnectorError

    ca = ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(_SOME_CA))
    with ExitStack() as resources:
        path = trust.bundle_file(ca, resources)
        text = Path(path).read_text()
        assert path != trust.system_bundle()
        assert text.startswith(Path(trust.system_bundle()).read_text())  # the system CAs stay trusted
        assert ca.strip() in text
    assert not os.path.exists(path)  # removed with the call's resources
    with ExitStack() as resources:
        assert trust.bundle_file(None, resources) == trust.system_bundle()
        with pytest.raises(ConnectorError) as caught:
            trust.bundle_file("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", resources)
    assert caught.value.code == ErrorCode.INVALID_CONFIG


def _make_ca() -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "unit test CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


_SOME_CA = _make_ca()
