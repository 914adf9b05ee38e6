"""Secrets inside connection strings and documents: split out, shown as placeholders, put back exactly."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasource_registry.connectors import ConnectionTarget, NetworkPolicy
from datasource_registry.connectors.connstring import POSTGRES_SCHEMES, parse_connection_string
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import WITHHELD, ConnectorError, ErrorCode
from datasource_registry.secret_parts import (
    PLACEHOLDER,
    UnreadableText,
    assemble_connection_string,
    assemble_document,
    loose_words,
    redact_connection_string,
    redact_document,
    split_connection_string,
    split_document,
)

passwords = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
    lambda s: s != PLACEHOLDER
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(password=passwords, option=passwords)
def test_a_url_password_and_secret_option_go_out_and_come_back_exactly(password, option):
    url = f"postgresql://alice:{quote(password, safe='')}@db.example.com:5432/prod?sslmode=require&sslpassword={quote(option, safe='')}"

    split = split_connection_string(url)

    assert (
        split.text
        == f"postgresql://alice:{PLACEHOLDER}@db.example.com:5432/prod?sslmode=require&sslpassword={PLACEHOLDER}"
    )
    assert split.values == {"password": password, "connectionString.sslpassword": option}
    again = split_connection_string(assemble_connection_string(split.text, split.values))
    assert again.values == split.values and again.text == split.text
    whole = assemble_connection_string(split.text, split.values)
    parsed = parse_connection_string(whole.split("?")[0], POSTGRES_SCHEMES)
    assert parsed.password == password and parsed.username == "alice" and parsed.host == "db.example.com"


def test_a_blank_after_equals_ends_a_value_so_the_next_pair_is_never_read_as_a_user_name():
    split = split_connection_string("host=h user= password=p4ss dbname=d")

    assert split.values == {"password": "p4ss"} and "p4ss" not in split.text


@settings(max_examples=300, derandomize=True, deadline=None)
@given(password=passwords.filter(lambda s: "\x00" not in s), separator=st.sampled_from([" ", ";"]))
def test_a_keyword_password_goes_out_and_comes_back_exactly(password, separator):
    quoted = (
        "'" + password.replace("\\", "\\\\").replace("'", "\\'") + "'"
        if separator == " "
        else '"' + password.replace('"', '""') + '"'
    )
    text = separator.join(["host=db.example.com", "user=bob", f"password={quoted}", "dbname=prod"])

    split = split_connection_string(text)

    assert split.text == separator.join(["host=db.example.com", "user=bob", f"password={PLACEHOLDER}", "dbname=prod"])
    assert split.values == {"password": password}
    assert split_connection_string(assemble_connection_string(split.text, split.values)).values == split.values


def test_a_placeholder_keeps_the_value_in_force_and_is_dropped_where_none_is():
    split = split_connection_string(f"mysql://u:{PLACEHOLDER}@h/db?token={PLACEHOLDER}")

    assert split.values == {}
    assert assemble_connection_string(split.text, {"password": "pw"}) == "mysql://u:pw@h/db?token="
    assert redact_connection_string(split.text, ["password"]) == f"mysql://u:{PLACEHOLDER}@h/db?token="
    assert redact_connection_string(split.text, []) == "mysql://u@h/db?token="


def test_a_record_written_before_the_split_is_shown_without_its_secrets():
    assert redact_connection_string("postgresql://u:hunter2@h/db?apikey=k1", []) == (
        f"postgresql://u:{PLACEHOLDER}@h/db?apikey={PLACEHOLDER}"
    )
    # One the registry cannot read at all is shown as the placeholder, never as typed
    assert redact_connection_string("postgresql://u:hun#ter2@h/db", []) == PLACEHOLDER
    assert redact_document({"token": "t0k", "nested": {"url": "https://u:pw@x/"}}, "sourceConfig", []) == {
        "token": PLACEHOLDER,
        "nested": {"url": f"https://u:{PLACEHOLDER}@x/"},
    }


def test_documents_move_secret_named_values_and_url_passwords_by_path():
    document = {
        "url": "https://svc:pw1@api.example.com/v1?api_key=k1",
        "auth": {"clientSecret": "cs", "type": "oauth", "tokenUrl": "https://idp/token"},
        "apiKeyHeader": "X-Key",
        "hosts": ["redis://:pw2@cache:6379"],
        "pin": 1234,
    }

    shown, values = split_document(document, "sourceConfig")

    assert values == {
        "sourceConfig.url:password": "pw1",
        "sourceConfig.url:api_key": "k1",
        "sourceConfig.auth.clientSecret": "cs",
        "sourceConfig.hosts[0]:password": "pw2",
    }
    assert shown["auth"] == {"clientSecret": PLACEHOLDER, "type": "oauth", "tokenUrl": "https://idp/token"}
    assert shown["apiKeyHeader"] == "X-Key" and shown["pin"] == 1234
    assert assemble_document(shown, "sourceConfig", values) == document


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://u:p#w@h/db",
        "postgresql://u:p/w@h/db",
        "postgresql://u:p w@h/db",
        "postgresql://u@h:\uff15\uff14\uff13\uff12/db",
        "postgresql://u@h:\u0665\u0664/db",
        "postgresql://u@[::1/db",
        "postgresql://u@b\u00fccher.de/db",
        "plain words",
        "host=h password='open",
        "Server=h;User ID= Password=p#w;",  # ADO reads this as the user "Password=p#w": shown, so refused
        "postgresql://u@h/db?application_name=x&user=pwd%3Dp#w",
    ],
)
def test_strings_that_cannot_be_split_safely_are_refused_with_a_reason_that_quotes_nothing(text):
    with pytest.raises(UnreadableText) as refused:
        split_connection_string(text)

    assert "p#w" not in refused.value.reason and "open" not in refused.value.reason


@pytest.mark.parametrize(
    ("text", "password"),
    [
        ("postgresql://u:s3cr3t-pw@h\uff0fx/db", "s3cr3t-pw"),
        ("postgresql://u:s3cr3t#pw@h/db", "s3cr3t#pw"),
        ("postgresql://u:s3/cr3t@h/db", "s3/cr3t"),
        ("host=h password='s3cr3t", "s3cr3t"),
    ],
)
def test_the_drivers_parser_refuses_odd_urls_without_quoting_them(text, password):
    try:
        parse_connection_string(text, POSTGRES_SCHEMES)
    except ConnectorError as refused:
        assert refused.code is ErrorCode.INVALID_CONFIG and password not in refused.message
    # And what a library might say of it is withheld, even though the registry cannot read the string
    assert password in loose_words(text)
    ctx = Context.create(
        ConnectionTarget(type="postgresql", connection_string=text),
        {},
        NetworkPolicy(),
        1.0,
        None,
        whole_call_is_connect=True,
    )
    assert ctx.scrub(f"netloc 'u:{password}@h' contains invalid characters") == WITHHELD


def test_a_unicode_digit_port_is_refused_by_the_drivers_parser():
    with pytest.raises(ConnectorError) as refused:
        parse_connection_string("postgresql://u:pw@h:\uff15\uff14\uff13\uff12/db", POSTGRES_SCHEMES)

    assert refused.value.code is ErrorCode.INVALID_CONFIG and "port" in refused.value.message
