"""The connector catalogue: every type a source may name, with its configuration rules, which the registry both
publishes as JSON Schema and validates configurations with, so the document and the behaviour cannot differ.

Each type declares its fields, its `sourceConfig` settings (secret ones marked) and its requirements as data;
`config_schema` renders them as JSON Schema (2020-12) and `configuration_errors` / `missing_configuration` check a
configuration against the same declarations. This module imports nothing but the product's enumerations, so
`secret_parts` can read the marked secret settings from it without a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from datasource_registry.domain.types import DATABASE_TYPES, FILE_TYPES, DataSourceType

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SECRET_STORE = "aws-secretsmanager"  # noqa: S105  # where secrets go, not a secret
Kind = Literal["string", "integer", "boolean", "array"]
_KIND_NAMES = {"string": "a string", "integer": "an integer", "boolean": "true or false", "array": "a list of strings"}


@dataclass(frozen=True)
class Setting:
    """One key of a connector's `sourceConfig`."""

    name: str
    kind: Kind
    description: str
    secret: bool = False  # goes to Secrets Manager; the stored and shown document holds a placeholder
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    max_length: int | None = None

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.kind, "description": self.description}
        if self.kind == "array":
            schema["items"] = {"type": "string"}
        for keyword, value in (("minimum", self.minimum), ("maximum", self.maximum), ("maxLength", self.max_length)):
            if value is not None:
                schema[keyword] = value
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.secret:
            schema.update(_secret_marks())
        return schema

    def errors(self, value: Any) -> list[str]:
        """What is wrong with a value of this setting (the same checks `schema` states)."""
        fits = {
            "string": isinstance(value, str),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "array": isinstance(value, list) and all(isinstance(item, str) for item in value),
        }[self.kind]
        if not fits:
            return [f"must be {_KIND_NAMES[self.kind]}"]
        if self.minimum is not None and value < self.minimum:
            return [f"must be at least {self.minimum}"]
        if self.maximum is not None and value > self.maximum:
            return [f"must be at most {self.maximum}"]
        if self.max_length is not None and len(value) > self.max_length:
            return [f"must be at most {self.max_length} characters"]
        if self.choices and value not in self.choices:
            return [f"must be one of {', '.join(self.choices)}"]
        return []


@dataclass(frozen=True)
class Requirement:
    """Fields that must all be given (not null, not ""), unless one of the alternative groups is given instead;
    `when` names a boolean field that must be true for the requirement to hold at all."""

    fields: tuple[str, ...]  # camelCase paths: "host", "sourceConfig.bucket"
    reason: str  # said of each missing field
    unless: tuple[tuple[str, ...], ...] = ()
    when: str | None = None

    def missing(self, document: Mapping[str, Any]) -> list[str]:
        if self.when is not None and _value_at(document, self.when) is not True:
            return []
        if any(all(_given(document, path) for path in group) for group in (self.fields, *self.unless)):
            return []
        return [path for path in self.fields if not _given(document, path)]

    def schema(self) -> dict[str, Any]:
        groups = [self.fields, *self.unless]
        given: dict[str, Any] = (
            _all_given(groups[0]) if len(groups) == 1 else {"anyOf": [_all_given(g) for g in groups]}
        )
        given["description"] = ", ".join(self.fields) + " " + self.reason
        if self.when is None:
            return given
        return {"if": {"required": [self.when], "properties": {self.when: {"const": True}}}, "then": given}


@dataclass(frozen=True)
class Capabilities:
    test: bool
    discover: bool
    ssh_tunnel: bool
    include_exclude: bool


@dataclass(frozen=True)
class ConnectorType:
    key: str  # a DataSourceType value, or a 003 connector key that is no type (kafka)
    display_name: str
    family: str
    description: str
    capabilities: Capabilities
    fields: tuple[str, ...]  # the data source's own fields this connector reads (camelCase)
    settings: tuple[Setting, ...]  # its sourceConfig keys; others are kept as given
    credentials: tuple[str, ...]  # the `credentials` members it reads, all stored in Secrets Manager
    requires: tuple[Requirement, ...]  # at write: a configuration missing them is refused (400)
    ready_when: tuple[Requirement, ...]  # to connect: until then its state is 001 "Requires configuration"
    example: dict[str, Any]
    is_type: bool = True  # False for 003's connector keys that name no DataSourceType

    @property
    def status(self) -> str:
        """`supported` when the registry tests and discovers it, `stored-only` for `other` (it names no system to
        connect to), `planned` when a connector is yet to come."""
        if self.capabilities.test:
            return "supported"
        return "stored-only" if self.key == "other" else "planned"

    @property
    def secret_fields(self) -> list[str]:
        return [f"credentials.{name}" for name in self.credentials] + [
            f"sourceConfig.{s.name}" for s in self.settings if s.secret
        ]


def _secret_marks() -> dict[str, Any]:
    return {"writeOnly": True, "x-secret": True, "x-secret-store": SECRET_STORE}


def _value_at(document: Mapping[str, Any], path: str) -> Any:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _given(document: Mapping[str, Any], path: str) -> bool:
    return _value_at(document, path) not in (None, "")


def _given_schema(path: str) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    inner = _given_schema(rest) if rest else {"not": {"enum": [None, ""]}}
    return {"required": [head], "properties": {head: inner}}


def _all_given(paths: tuple[str, ...]) -> dict[str, Any]:
    return _given_schema(paths[0]) if len(paths) == 1 else {"allOf": [_given_schema(p) for p in paths]}


# -- the catalogue --------------------------------------------------------------------------------------------------
# Requirements every configuration meets, whatever its connector.
COMMON_REQUIREMENTS = (
    Requirement(("sshHost", "sshUsername"), "is required when useSshTunnel is true", when="useSshTunnel"),
)
_NETWORK = ("host", "port", "databaseName", "schemaName", "connectionString")
_SSH = ("useSshTunnel", "sshHost", "sshPort", "sshUsername", "sshHostKeyFingerprint")
_FILE = ("filePath", "fileFormat", "region")
_DB_CREDENTIALS = ("username", "password")
_SSH_CREDENTIALS = ("sshPrivateKey", "sshPassphrase")
_AWS_CREDENTIALS = ("accessKeyId", "secretAccessKey")
_BUCKET = Setting("bucket", "string", "Bucket holding filePath when filePath is a key rather than s3://bucket/key.")
_REGION = Setting("region", "string", "AWS region, when the source's own `region` is not set.")

# Types the registry connects to today, with the connector module that does it (connectors/api.py `_MODULES`;
# tests/unit/test_catalogue.py holds the two equal), and what that connector honours.
_CONNECTED = {
    "postgresql": Capabilities(True, True, ssh_tunnel=True, include_exclude=True),
    "redshift": Capabilities(True, True, ssh_tunnel=True, include_exclude=True),
    "mysql": Capabilities(True, True, ssh_tunnel=True, include_exclude=True),
    "mariadb": Capabilities(True, True, ssh_tunnel=True, include_exclude=True),
    "sqlserver": Capabilities(True, True, ssh_tunnel=True, include_exclude=True),
    "oracle": Capabilities(True, True, ssh_tunnel=True, include_exclude=True),
    "database": Capabilities(True, True, ssh_tunnel=True, include_exclude=True),
    "redis": Capabilities(True, True, ssh_tunnel=True, include_exclude=True),
    "http_api": Capabilities(True, True, ssh_tunnel=True, include_exclude=False),
    "s3": Capabilities(True, True, ssh_tunnel=False, include_exclude=True),
    "dynamodb": Capabilities(True, True, ssh_tunnel=False, include_exclude=True),
    "synthetic": Capabilities(True, True, ssh_tunnel=False, include_exclude=True),
    "csv": Capabilities(True, True, ssh_tunnel=False, include_exclude=False),
    "json": Capabilities(True, True, ssh_tunnel=False, include_exclude=False),
    "parquet": Capabilities(True, True, ssh_tunnel=False, include_exclude=False),
    "orc": Capabilities(True, True, ssh_tunnel=False, include_exclude=False),
    "elasticsearch": Capabilities(True, True, ssh_tunnel=False, include_exclude=True),
    "kafka": Capabilities(True, True, ssh_tunnel=False, include_exclude=True),
    "excel": Capabilities(True, True, ssh_tunnel=False, include_exclude=True),
    "iceberg": Capabilities(True, True, ssh_tunnel=False, include_exclude=False),
    "mongodb": Capabilities(True, True, ssh_tunnel=False, include_exclude=True),
    "cassandra": Capabilities(True, True, ssh_tunnel=False, include_exclude=True),
    "snowflake": Capabilities(True, True, ssh_tunnel=False, include_exclude=True),
    "bigquery": Capabilities(True, True, ssh_tunnel=False, include_exclude=True),
    "salesforce": Capabilities(True, True, ssh_tunnel=False, include_exclude=True),
    "delta_lake": Capabilities(True, True, ssh_tunnel=False, include_exclude=False),
    "hudi": Capabilities(True, True, ssh_tunnel=False, include_exclude=False),
}
# HTTPS engines reached at another host than their own (a private endpoint, a proxy): only at an address the
# network policy allows, with this CA trusted besides the public ones.
_CA_CERTIFICATE = Setting(
    "caCertificate",
    "string",
    "PEM CA certificate to trust besides the public ones (a private endpoint or proxy the network policy allows).",
    max_length=16384,
)
# Engines with TLS of their own (Cassandra, Kafka, SQL Server): a private CA trusted besides the system CAs.
_TLS_CA_CERTIFICATE = Setting(
    "caCertificate",
    "string",
    "PEM CA certificate trusted besides the system CAs for TLS (the host name is still checked).",
    max_length=16384,
)
_PLANNED = Capabilities(False, False, ssh_tunnel=False, include_exclude=False)


def _sql(key: str, name: str, port: int, family: str = "sql", *settings: Setting, note: str = "") -> ConnectorType:
    ssh = _SSH if _CONNECTED.get(key, _PLANNED).ssh_tunnel else ()
    example = {
        "name": f"Example {name}",
        "type": key,
        "host": "db.example.com",
        "port": port,
        "databaseName": "analytics",
        "credentials": {"username": "reader", "password": "example-password"},
    }
    if key == "database":  # the connector is chosen by the connection string's scheme
        example = {
            "name": f"Example {name}",
            "type": key,
            "connectionString": "postgresql://reader@db.example.com:5432/analytics",
            "credentials": {"password": "example-password"},
        }
    return _entry(
        key,
        name,
        family,
        f"{name} over its native protocol{note}.",
        fields=_NETWORK + ssh,
        settings=settings,
        credentials=_DB_CREDENTIALS + (_SSH_CREDENTIALS if ssh else ()),
        example=example,
    )


_FILE_EXAMPLES = {
    "excel": "s3://example-bucket/exports/report.xlsx",
    "iceberg": "s3://example-bucket/warehouse/sales/orders",  # the table's location (or a .metadata.json file)
    "delta_lake": "s3://example-bucket/warehouse/orders",  # the table's folder, holding _delta_log/
    "hudi": "s3://example-bucket/warehouse/trips",  # the table's base path, holding .hoodie/
}
_FILE_DESCRIPTIONS = {
    "excel": "Excel workbooks on S3 (xlsx, xlsm, xlsb, ods, xls): one table per sheet, columns from the header row.",
    "iceberg": "Apache Iceberg tables on S3: the schema from the table's current metadata file, no data file read.",
    "delta_lake": "Delta Lake tables on S3: filePath is the table's folder; schema, partition columns and version"
    " from its transaction log (_delta_log), no data file read.",
    "hudi": "Apache Hudi tables on S3: filePath is the table's base path; schema, record key and partition fields"
    " from hoodie.properties and the timeline's commit metadata, no data file read.",
}


def _file(key: str, name: str) -> ConnectorType:
    example = {
        "name": f"Example {name}",
        "type": key,
        "filePath": _FILE_EXAMPLES.get(key, f"s3://example-bucket/exports/data.{key.replace('_', '-')}"),
        "region": "eu-west-1",
        "credentials": {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "example-secret"},
    }
    return _entry(
        key,
        name,
        "files",
        _FILE_DESCRIPTIONS.get(key, f"{name} files on S3: the schema is read from the file itself."),
        fields=_FILE,
        settings=(_BUCKET,),
        credentials=_AWS_CREDENTIALS,
        example=example,
    )


def _entry(
    key: str,
    name: str,
    family: str,
    description: str,
    *,
    fields: tuple[str, ...],
    settings: tuple[Setting, ...] = (),
    credentials: tuple[str, ...] = (),
    ready_when: tuple[Requirement, ...] = (),
    example: dict[str, Any],
) -> ConnectorType:
    requires: list[Requirement] = []
    if key in DATABASE_TYPES:  # 001: host/port/database_name or connection_string
        requires.append(
            Requirement(
                ("host", "port", "databaseName"),
                f"is required for {key} unless connectionString is given",
                unless=(("connectionString",),),
            )
        )
    if key in FILE_TYPES:  # 001: file_path for file-based sources
        requires.append(Requirement(("filePath",), f"is required for file-based type {key}"))
    return ConnectorType(
        key=key,
        display_name=name,
        family=family,
        description=description,
        capabilities=_CONNECTED.get(key, _PLANNED),
        fields=fields,
        settings=settings,
        credentials=credentials,
        requires=(*requires, *COMMON_REQUIREMENTS),
        ready_when=ready_when,
        example=example,
        is_type=key in DataSourceType._value2member_map_,
    )


def _build() -> dict[str, ConnectorType]:
    entries = [
        _sql("postgresql", "PostgreSQL", 5432),
        _sql("mysql", "MySQL", 3306),
        _sql("mariadb", "MariaDB", 3306),
        _sql(
            "sqlserver",
            "SQL Server",
            1433,
            "sql",
            Setting(
                "encrypt",
                "boolean",
                "TLS for the whole session, the certificate checked against the system CAs and the host name"
                " (default true); false sends the login without TLS.",
            ),
            _TLS_CA_CERTIFICATE,
        ),
        _sql(
            "oracle",
            "Oracle",
            1521,
            "sql",
            Setting("serviceName", "string", "Oracle service name (else databaseName)."),
            Setting("sid", "string", "Oracle SID, for a database reached by SID instead of a service name."),
            Setting(
                "protocol",
                "string",
                "tcp (default) or tcps: TLS, the certificate checked against the host name.",
                choices=("tcp", "tcps"),
            ),
            Setting("sslCaCertificate", "string", "PEM certificate(s) of a private CA trusted for tcps."),
        ),
        _sql("redshift", "Amazon Redshift", 5439, "warehouse", note=" (the PostgreSQL wire protocol)"),
        _sql("database", "Database (000)", 5432, note=": PostgreSQL or MySQL/MariaDB, chosen by the connection string"),
        _entry(
            "snowflake",
            "Snowflake",
            "warehouse",
            "Snowflake: `host` is the account's host (<account>.snowflakecomputing.com).",
            fields=("host", "databaseName", "schemaName", "warehouse", "role"),
            settings=(
                Setting("account", "string", "Account identifier, e.g. xy12345.eu-west-1."),
                Setting("privateKey", "string", "PEM private key for key-pair authentication.", secret=True),
                Setting("privateKeyPassphrase", "string", "Passphrase of the private key.", secret=True),
                _CA_CERTIFICATE,
            ),
            # password: a programmatic access token (the SQL API takes no plain password); oauthToken: OAuth.
            credentials=(*_DB_CREDENTIALS, "oauthToken"),
            example={
                "name": "Example Snowflake",
                "type": "snowflake",
                "host": "xy12345.eu-west-1.snowflakecomputing.com",
                "databaseName": "ANALYTICS",
                "warehouse": "COMPUTE_WH",
                "role": "REPORTER",
                "credentials": {"username": "reader", "password": "example-password"},
            },
        ),
        _entry(
            "bigquery",
            "Google BigQuery",
            "warehouse",
            "BigQuery datasets of one Google Cloud project.",
            fields=(),
            settings=(
                Setting("projectId", "string", "Google Cloud project id."),
                Setting("dataset", "string", "Dataset to discover (all datasets when left out)."),
                Setting("location", "string", "Dataset location, e.g. EU."),
                Setting("serviceAccountJson", "string", "The service account's JSON key file, as text.", secret=True),
                Setting("apiUrl", "string", "BigQuery API URL (default https://bigquery.googleapis.com)."),
                _CA_CERTIFICATE,
            ),
            credentials=("oauthToken",),
            example={
                "name": "Example BigQuery",
                "type": "bigquery",
                "sourceConfig": {"projectId": "example-project", "dataset": "analytics", "location": "EU"},
            },
        ),
        _entry(
            "mongodb",
            "MongoDB",
            "nosql",
            "MongoDB collections (document store).",
            fields=_NETWORK,
            settings=(
                Setting("authSource", "string", "Database that holds the user."),
                Setting("replicaSet", "string", "Replica set name."),
                Setting("tls", "boolean", "Connect with TLS."),
            ),
            credentials=_DB_CREDENTIALS,
            example={"name": "Example MongoDB", "type": "mongodb", "host": "mongo.example.com", "port": 27017},
        ),
        _entry(
            "elasticsearch",
            "Elasticsearch",
            "nosql",
            "Elasticsearch indices (search engine).",
            fields=("host", "port"),
            settings=(
                Setting("url", "string", "Cluster URL, e.g. https://search.example.com:9200 (OpenSearch too)."),
                Setting("indexPattern", "string", "Indices and data streams to discover, e.g. logs-*."),
            ),
            credentials=("username", "password", "apiKey"),
            ready_when=(Requirement(("sourceConfig.url",), "is required to connect (or host)", unless=(("host",),)),),
            example={
                "name": "Example Elasticsearch",
                "type": "elasticsearch",
                "host": "search.example.com",
                "port": 9200,
            },
        ),
        _entry(
            "redis",
            "Redis",
            "kv",
            "Redis: key patterns sampled with SCAN.",
            fields=("host", "port", "connectionString", *_SSH),
            settings=(Setting("db", "integer", "Database number.", minimum=0, maximum=1_000_000),),
            credentials=(*_DB_CREDENTIALS, *_SSH_CREDENTIALS),
            example={"name": "Example Redis", "type": "redis", "host": "cache.example.com", "port": 6379},
        ),
        _entry(
            "cassandra",
            "Apache Cassandra",
            "nosql",
            "Cassandra keyspaces (wide-column store).",
            fields=("host", "port"),
            settings=(
                Setting("keyspace", "string", "Keyspace to discover."),
                Setting(
                    "datacenter",
                    "string",
                    "Local datacenter of the load-balancing policy: a node in another datacenter is refused.",
                ),
                Setting("tls", "boolean", "Connect with TLS (client_encryption_options), the host name checked."),
                _TLS_CA_CERTIFICATE,
            ),
            credentials=_DB_CREDENTIALS,
            example={"name": "Example Cassandra", "type": "cassandra", "host": "cassandra.example.com", "port": 9042},
        ),
        _entry(
            "dynamodb",
            "Amazon DynamoDB",
            "kv",
            "DynamoDB tables of an AWS account and region.",
            fields=("region",),
            settings=(
                Setting("table_name", "string", "One table to test and discover (all tables when left out)."),
                _REGION,
            ),
            credentials=_AWS_CREDENTIALS,
            example={
                "name": "Example DynamoDB",
                "type": "dynamodb",
                "region": "eu-west-1",
                "sourceConfig": {"table_name": "orders"},
                "credentials": {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "example-secret"},
            },
        ),
        *(
            _file(key, name)
            for key, name in (
                ("csv", "CSV"),
                ("excel", "Excel"),
                ("json", "JSON"),
                ("parquet", "Parquet"),
                ("orc", "ORC"),
                ("delta_lake", "Delta Lake"),
                ("iceberg", "Apache Iceberg"),
                ("hudi", "Apache Hudi"),
            )
        ),
        _entry(
            "s3",
            "Amazon S3",
            "files",
            "An S3 bucket (or prefix): one table per folder of csv/json/parquet/orc objects.",
            fields=("region", "filePath", "host"),
            settings=(
                Setting("bucket", "string", "Bucket name."),
                Setting("prefix", "string", "Key prefix to list under."),
                Setting(
                    "url", "string", "An S3 URL naming the bucket, e.g. https://s3.eu-west-1.amazonaws.com/bucket."
                ),
                _REGION,
            ),
            credentials=_AWS_CREDENTIALS,
            ready_when=(
                Requirement(
                    ("sourceConfig.bucket",),
                    "is required to connect (or sourceConfig.url, filePath or host)",
                    unless=(("sourceConfig.url",), ("filePath",), ("host",)),
                ),
            ),
            example={
                "name": "Example S3",
                "type": "s3",
                "region": "eu-west-1",
                "sourceConfig": {"bucket": "example-bucket", "prefix": "raw/"},
                "credentials": {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "example-secret"},
            },
        ),
        _entry(
            "http_api",
            "HTTP API",
            "http",
            "A JSON HTTP API: one request, its answer sampled for a schema.",
            fields=("host", "port", *_SSH),
            settings=(
                Setting("url", "string", "The URL to request (http or https)."),
                Setting("api_key_header", "string", "Header carrying credentials.apiKey (default X-API-Key)."),
            ),
            credentials=("apiKey", "oauthToken", *_SSH_CREDENTIALS),
            ready_when=(Requirement(("sourceConfig.url",), "is required to connect (or host)", unless=(("host",),)),),
            example={
                "name": "Example HTTP API",
                "type": "http_api",
                "sourceConfig": {"url": "https://api.example.com/v1/orders", "api_key_header": "X-API-Key"},
                "credentials": {"apiKey": "example-api-key"},
            },
        ),
        _entry(
            "other",
            "Other",
            "other",
            "Any other system: stored and scheduled, never connected to.",
            fields=(),
            example={"name": "Example other", "type": "other", "sourceConfig": {"system": "mainframe"}},
        ),
        _entry(
            "synthetic",
            "Synthetic (000)",
            "generated",
            "A generated, deterministic schema: always healthy, no network.",
            fields=("schemaName",),
            settings=(
                Setting("tables", "integer", "Number of tables.", minimum=0, maximum=1000),
                Setting("columns", "integer", "Columns per table.", minimum=1, maximum=200),
            ),
            example={"name": "Example synthetic", "type": "synthetic", "sourceConfig": {"tables": 3, "columns": 5}},
        ),
        # 003's connector keys that name no DataSourceType: stored with `connectorKey`, type left empty.
        _entry(
            "kafka",
            "Apache Kafka",
            "stream",
            "Kafka topics (003 connector key).",
            fields=(),
            settings=(
                Setting("bootstrapServers", "string", "host:port[,host:port...] of the brokers."),
                Setting("topics", "array", "Topics to read."),
                Setting(
                    "securityProtocol",
                    "string",
                    "Kafka security protocol.",
                    choices=("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
                ),
                Setting(
                    "saslMechanism", "string", "SASL mechanism.", choices=("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
                ),
                Setting("saslUsername", "string", "SASL user name."),
                Setting("saslPassword", "string", "SASL password.", secret=True),
                _TLS_CA_CERTIFICATE,
                Setting("schemaRegistryUrl", "string", "Schema registry URL (Confluent Schema Registry REST API)."),
                Setting(
                    "schemaRegistryUsername",
                    "string",
                    "Schema registry basic-auth user (Confluent Cloud: the API key).",
                ),
                Setting("schemaRegistryApiSecret", "string", "Schema registry API secret.", secret=True),
                Setting(
                    "sampleSize",
                    "integer",
                    "Messages read per topic to infer a value schema when no registry schema exists.",
                    minimum=0,
                    maximum=500,
                ),
            ),
            ready_when=(Requirement(("sourceConfig.bootstrapServers",), "is required to connect"),),
            example={
                "name": "Example Kafka",
                "connectorKey": "kafka",
                "sourceConfig": {
                    "bootstrapServers": "broker-1.example.com:9092",
                    "topics": ["orders"],
                    "securityProtocol": "SASL_SSL",
                    "saslMechanism": "SCRAM-SHA-512",
                    "saslUsername": "reader",
                    "saslPassword": "example-password",
                },
            },
        ),
        _entry(
            "salesforce",
            "Salesforce",
            "saas",
            "Salesforce objects through its REST API (003 connector key).",
            fields=(),
            settings=(
                Setting("instanceUrl", "string", "e.g. https://example.my.salesforce.com."),
                Setting("objectName", "string", "sObject to read, e.g. Contact."),
                Setting("query", "string", "SOQL query."),
                Setting("apiVersion", "string", "REST API version, e.g. 60.0."),
                Setting("clientId", "string", "Connected app's consumer key."),
                Setting("clientSecret", "string", "Connected app's consumer secret.", secret=True),
                Setting("refreshToken", "string", "OAuth refresh token.", secret=True),
                Setting("securityToken", "string", "The user's security token.", secret=True),
                Setting("loginUrl", "string", "OAuth login host (default https://login.salesforce.com)."),
                Setting("privateKey", "string", "PEM private key of the JWT bearer flow.", secret=True),
                Setting("privateKeyPassphrase", "string", "Passphrase of the private key.", secret=True),
                _CA_CERTIFICATE,
            ),
            credentials=("username", "oauthToken"),
            example={
                "name": "Example Salesforce",
                "connectorKey": "salesforce",
                "sourceConfig": {
                    "objectName": "Contact",
                    "query": "SELECT Id, Email, Name FROM Contact",
                    "clientId": "example-client-id",
                    "clientSecret": "example-client-secret",
                },
            },
        ),
    ]
    return {entry.key: entry for entry in entries}


@cache
def catalogue() -> dict[str, ConnectorType]:
    """Every connector type by key, in the catalogue's order (001's enum, 000's, then 003's keys)."""
    return _build()


def secret_setting_names() -> frozenset[str]:
    """Every sourceConfig setting some connector marks secret: what secret_parts moves to Secrets Manager."""
    return frozenset(s.name for entry in catalogue().values() for s in entry.settings if s.secret)


def connector_of(type_value: str | None, connector_key: str) -> ConnectorType | None:
    return catalogue().get(type_value or connector_key)


# -- validation: the same declarations the schema states ------------------------------------------------------------
def configuration_errors(document: Mapping[str, Any], entry: ConnectorType | None) -> list[tuple[str, str]]:
    """(field, reason) for each rule of the connector (and the common ones) a camelCase configuration breaks."""
    errors: list[tuple[str, str]] = []
    config = document.get("sourceConfig")
    if entry is not None and isinstance(config, Mapping):
        for setting in entry.settings:
            if setting.name in config:
                errors += [(f"sourceConfig.{setting.name}", r) for r in setting.errors(config[setting.name])]
    for requirement in entry.requires if entry is not None else COMMON_REQUIREMENTS:
        errors += [(path, requirement.reason) for path in requirement.missing(document)]
    return errors


def missing_configuration(document: Mapping[str, Any], entry: ConnectorType) -> list[str]:
    """What the configuration still lacks before the registry can connect to it (000's state 001)."""
    return [path for requirement in entry.ready_when for path in requirement.missing(document)]


# -- the published schema ----------------------------------------------------------------------------------------------
def config_schema(entry: ConnectorType) -> dict[str, Any]:
    """The JSON Schema of the connector's configuration (the fields of a create body that configure it)."""
    fields, credential_fields = _model_field_schemas()
    properties: dict[str, Any] = {name: _plain(fields[name]) for name in entry.fields}
    properties["sourceConfig"] = {
        "type": "object",
        "description": "Connector settings (003's sourceConfig). Secret ones (`x-secret`) are moved to AWS Secrets "
        "Manager at write and shown as ******** afterwards; keys not listed are kept as given.",
        "properties": {s.name: s.schema() for s in entry.settings},
    }
    if entry.credentials:
        properties["credentials"] = {
            "type": "object",
            "description": "Stored in AWS Secrets Manager, never returned (write-only).",
            "properties": {name: {**_plain(credential_fields[name]), **_secret_marks()} for name in entry.credentials},
            **_secret_marks(),
        }
    if any(r.when == "useSshTunnel" for r in entry.requires) and "useSshTunnel" not in properties:
        properties["useSshTunnel"] = _plain(fields["useSshTunnel"])
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "title": f"{entry.display_name} configuration",
        "type": "object",
        "properties": properties,
        "allOf": [r.schema() for r in entry.requires],
    }
    if entry.ready_when:
        schema["x-ready-when"] = {
            "description": "What a connection needs; until it holds the source's state is 001 Requires configuration.",
            "allOf": [r.schema() for r in entry.ready_when],
        }
    return schema


@cache
def _model_field_schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON Schemas of the data source's fields and of its credentials, as the API model states them."""
    from datasource_registry.domain.model import Credentials, DataSourceSpec

    return (
        DataSourceSpec.model_json_schema(by_alias=True)["properties"],
        Credentials.model_json_schema(by_alias=True)["properties"],
    )


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic field schema without its generated title."""
    return {k: v for k, v in schema.items() if k != "title"}
