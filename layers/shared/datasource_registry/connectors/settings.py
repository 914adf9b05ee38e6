"""Connection settings of a database target, from its fields or its (allowlisted) connection string."""

from __future__ import annotations

from dataclasses import dataclass, field

from datasource_registry.connectors.connstring import parse_connection_string
from datasource_registry.connectors.context import Context
from datasource_registry.connectors.errors import ConnectorError


@dataclass(frozen=True)
class DatabaseSettings:
    host: str | None
    port: int
    database: str | None
    username: str | None
    password: str | None
    options: dict[str, str] = field(default_factory=dict)


def database_settings(ctx: Context, schemes: frozenset[str], default_port: int) -> DatabaseSettings:
    """Credentials win over user info embedded in the connection string; its password is scrubbed too."""
    target = ctx.target
    if target.connection_string:
        with ctx.stage("resolve"):
            try:
                parsed = parse_connection_string(target.connection_string, schemes)
            except ConnectorError as exc:
                raise ConnectorError(exc.code, ctx.scrub(exc.message)) from None
        ctx.scrub.add(parsed.password)
        ctx.stages.pop()  # the real "resolve" stage follows; parsing is part of it
        return DatabaseSettings(
            host=parsed.host,
            port=parsed.port or default_port,
            database=parsed.database or target.database_name,
            username=ctx.credential("username") or parsed.username,
            password=ctx.credential("password") or parsed.password,
            options=parsed.options,
        )
    return DatabaseSettings(
        host=target.host,
        port=target.port or default_port,
        database=target.database_name,
        username=ctx.credential("username"),
        password=ctx.credential("password"),
    )
