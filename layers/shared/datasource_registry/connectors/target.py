"""What to connect to: the connection-relevant part of a data source's spec, built by the core."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ConnectionTarget:
    type: str
    host: str | None = None
    port: int | None = None
    database_name: str | None = None
    schema_name: str | None = None
    connection_string: str | None = None
    file_path: str | None = None
    source_config: Mapping[str, Any] = field(default_factory=dict)
    use_ssh_tunnel: bool = False
    ssh_host: str | None = None
    ssh_port: int = 22
    ssh_username: str | None = None
    ssh_host_key_fingerprint: str | None = None
    connection_timeout: int = 30
    query_timeout: int = 300
    include_patterns: Sequence[str] = ()
    exclude_patterns: Sequence[str] = ()
    region: str | None = None
    warehouse: str | None = None  # Snowflake's warehouse and role (session settings of each statement)
    role: str | None = None
