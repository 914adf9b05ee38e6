"""Generated connection strings (odd hosts, IPv6 brackets, compatibility Unicode, stray '#', '@', '%') thrown at the
unsaved connection test and at create: no 5xx, and the password (it carries the marker) never comes back.

The prove conftest scans every response and log line for the marker; stored items are scanned here.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.prove.conftest import scan
from tests.prove.harness import MARKER, readable, table_items

# Characters that break naive parsing, and look-alikes that normalise into them under NFKC (fullwidth @, /, ?, #).
ODD = "#@%:/?;&=[]'\"\\ ,\t\uff20\uff0f\uff1f\uff03\u2100\u0665\uff15\u00e9\u2603"
text = st.text(alphabet=st.sampled_from(ODD) | st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
hosts = st.sampled_from(
    [
        "127.0.0.1",
        "[::1]",
        "[::1",
        "localhost",
        "b\u00fccher.de",
        "h\uff0fx",
        "h_st",
        "[fe80::1%25eth0]",
        "127.0.0.1,127.0.0.2",
        "",
        "\uff11\uff12\uff17.0.0.1",
    ]
)
ports = st.sampled_from(["", ":1", ":5432", ":\uff15\uff14\uff13\uff12", ":\u0665\u0664", ":99999", ":0x10", ":"])
schemes = st.sampled_from(["postgresql", "postgres", "mysql", "mariadb", "redis", "jdbc:postgresql", "snowflake", "Pg"])


@st.composite
def connection_strings(draw: st.DrawFn) -> str:
    password = MARKER + draw(text)
    encoded = draw(st.booleans())
    written = quote(password, safe="") if encoded else password
    user = draw(st.sampled_from(["postgres", "u", "", "us%er", "\u00fcser"]))
    tail = draw(st.sampled_from(["/test", "/test?sslmode=disable", "/a/b", "/db#frag", "", "/db?password=" + written]))
    if draw(st.booleans()):
        return f"{draw(schemes)}://{user}:{written}@{draw(hosts)}{draw(ports)}{tail}"
    # key=value forms, quoted or not
    value = draw(st.sampled_from([written, f"'{written}'", f'"{written}"', "{" + written + "}"]))
    separator = draw(st.sampled_from([" ", ";"]))
    return separator.join([f"host={draw(hosts)}", f"user={user}", f"password={value}", "dbname=test"])


@settings(
    max_examples=int(os.environ.get("DS_STRING_EXAMPLES", "60")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(connection_string=connection_strings(), kind=st.sampled_from(["postgresql", "mysql", "redis", "database"]))
def test_no_generated_connection_string_answers_5xx_or_gives_its_password_back(
    local_api, client_for, tenant, connection_string, kind
):
    api = client_for("editor")
    body = {"name": "Generated", "type": kind, "connectionString": connection_string, "connectionTimeout": 1}

    tested = api.post("/api/v1/data-sources/test-connection", json=body)
    created = api.post("/api/v1/data-sources", json=body)

    assert tested.status_code in {200, 400}, tested.text
    assert created.status_code in {201, 400, 409}, created.text
    if created.status_code == 201:
        # Stored without the password, and deleted so names stay free for the next example
        for item in table_items(local_api.aws, tenant):
            scan(json.dumps(item, default=readable), "a DynamoDB item")
        assert api.delete("/api/v1/data-sources", params={"key": created.json()["key"]}).status_code == 204
