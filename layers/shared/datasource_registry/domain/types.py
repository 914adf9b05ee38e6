"""Enumerations of the product's vocabulary: data source types, sync modes, lifecycle status, roles."""

from enum import StrEnum


class DataSourceType(StrEnum):
    """001's DataSourceTypeEnum plus 000's generic `database` and `synthetic`."""

    POSTGRESQL = "postgresql"
    MYSQL = "mysql"
    MARIADB = "mariadb"
    SQLSERVER = "sqlserver"
    ORACLE = "oracle"
    SNOWFLAKE = "snowflake"
    BIGQUERY = "bigquery"
    REDSHIFT = "redshift"
    MONGODB = "mongodb"
    ELASTICSEARCH = "elasticsearch"
    REDIS = "redis"
    CASSANDRA = "cassandra"
    DYNAMODB = "dynamodb"
    CSV = "csv"
    EXCEL = "excel"
    JSON = "json"
    PARQUET = "parquet"
    ORC = "orc"
    DELTA_LAKE = "delta_lake"
    ICEBERG = "iceberg"
    HUDI = "hudi"
    S3 = "s3"
    HTTP_API = "http_api"
    OTHER = "other"
    DATABASE = "database"
    SYNTHETIC = "synthetic"


# 001: "For database types, either host/port/database_name or connection_string is required".
DATABASE_TYPES = frozenset(
    {
        DataSourceType.POSTGRESQL,
        DataSourceType.MYSQL,
        DataSourceType.MARIADB,
        DataSourceType.SQLSERVER,
        DataSourceType.ORACLE,
        DataSourceType.REDSHIFT,
        DataSourceType.DATABASE,
    }
)

# 001: "For file-based data sources, file_path is required".
FILE_TYPES = frozenset(
    {
        DataSourceType.CSV,
        DataSourceType.EXCEL,
        DataSourceType.JSON,
        DataSourceType.PARQUET,
        DataSourceType.ORC,
        DataSourceType.DELTA_LAKE,
        DataSourceType.ICEBERG,
        DataSourceType.HUDI,
    }
)


class SyncMode(StrEnum):
    FULL_REFRESH = "full_refresh"
    INCREMENTAL = "incremental"
    CDC = "cdc"


class Status(StrEnum):
    """003's lifecycle status of a data source."""

    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"
