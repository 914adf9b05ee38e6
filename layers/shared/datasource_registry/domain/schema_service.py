"""Connection tests and schema discovery for saved and unsaved data sources, with versioned schema snapshots."""

from __future__ import annotations

import secrets as random_tokens
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from datasource_registry.connectors.errors import ConnectorError
from datasource_registry.connectors.result import ConnectionTestResult, Stage
from datasource_registry.connectors.target import ConnectionTarget
from datasource_registry.discovered import DiscoveredSchema
from datasource_registry.domain.credentials import in_memory
from datasource_registry.domain.drift import family_of, notice
from datasource_registry.domain.errors import DiscoveryFailed, NotFound, ValidationFailed
from datasource_registry.domain.jobs import WORKER, Discovered
from datasource_registry.domain.model import DataSource, DataSourceSpec
from datasource_registry.domain.ports import (
    ConnectorGateway,
    RefreshOutcome,
    SnapshotMeta,
    SnapshotStore,
    StaleVersion,
)
from datasource_registry.domain.principal import Principal
from datasource_registry.domain.rules import configuration_errors, connection_changed, connection_checked
from datasource_registry.domain.schema_diff import SchemaDiff, diff_schemas
from datasource_registry.domain.service import DataSourceService, utc_now
from datasource_registry.domain.types import Role

# Tables per stored chunk are bounded by bytes in the adapter; this bounds one API page.
MAX_TABLE_PAGE = 1000
# A scheduled refresh runs in the worker (timeout 300 s): test and discovery each get at most this long.
REFRESH_SECONDS = 120.0


def target_of(spec: DataSourceSpec, credentials: Mapping[str, str]) -> ConnectionTarget:
    """The connection-relevant part of a spec, as the connector library takes it: the connection string and
    source config put back together with their secrets, in memory only."""
    spec = in_memory(spec, credentials)
    return ConnectionTarget(
        # 003's connector keys that name no type (salesforce) route by the key itself.
        type=spec.type.value if spec.type else (spec.connector_key or "other"),
        host=spec.host,
        port=spec.port,
        database_name=spec.database_name,
        schema_name=spec.schema_name,
        connection_string=spec.connection_string,
        file_path=spec.file_path,
        source_config=dict(spec.source_config),
        use_ssh_tunnel=spec.use_ssh_tunnel,
        ssh_host=spec.ssh_host,
        ssh_port=spec.ssh_port,
        ssh_username=spec.ssh_username,
        ssh_host_key_fingerprint=spec.ssh_host_key_fingerprint,
        connection_timeout=spec.connection_timeout,
        query_timeout=spec.query_timeout,
        include_patterns=tuple(spec.include_patterns),
        exclude_patterns=tuple(spec.exclude_patterns),
        region=spec.region,
        warehouse=spec.warehouse,
        role=spec.role,
    )


# 000 names settings its own way (an S3 key pair `access_key`/`access_secret`, a database `user`); the connectors
# read AWS's and libpq's names.
SETTING_NAMES = {"access_key": "access_key_id", "access_secret": "secret_access_key", "user": "username"}


def credentials_for(source: DataSource, values: dict[str, str]) -> dict[str, str]:
    """Credential values under the names connectors read: 000's env_key references resolve to their setting."""
    resolved = dict(values)
    for setting, name in source.spec.secret_refs.items():
        if name in values:
            resolved.setdefault(SETTING_NAMES.get(setting, setting), values[name])
    return resolved


@dataclass(frozen=True)
class Discovery:
    data_source_id: str
    meta: SnapshotMeta
    changed: bool
    diff: SchemaDiff | None


def tested_reason(result: ConnectionTestResult) -> str | None:
    """Why a connection test failed, as every test records it (user's or the registry's own)."""
    return None if result.success else f"{result.error_code}: {result.error}"


def diff_path(data_source_id: str, old: int, new: int) -> str:
    return f"/api/v1/data-sources/{data_source_id}/schema/diff?from={old}&to={new}"


def drift_notice(discovery: Discovery) -> dict[str, Any] | None:
    """What a schema-change event says of the changes: counts by severity, the first few, the full diff's path."""
    if discovery.diff is None:
        return None
    version = discovery.meta.version
    return {**notice(discovery.diff.changes), "diffPath": diff_path(discovery.data_source_id, version - 1, version)}


class SchemaService:
    def __init__(
        self,
        data_sources: DataSourceService,
        snapshots: SnapshotStore,
        connectors: ConnectorGateway,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._data_sources = data_sources
        self._snapshots = snapshots
        self._connectors = connectors
        self._clock = clock

    # -- connection tests ---------------------------------------------------------------------------------
    def check_saved(
        self, principal: Principal, reference: str, deadline_seconds: float
    ) -> tuple[ConnectionTestResult, DataSource]:
        """Test a saved source and record the outcome on it (health, timestamps, failure count)."""
        principal.require_write()
        source = self._data_sources.get(principal, reference)
        try:
            credentials = self._credentials(source)
        except (PermissionError, LookupError) as refused:
            code = "PERMISSION_DENIED" if isinstance(refused, PermissionError) else "NOT_FOUND"
            result = ConnectionTestResult(
                False, [Stage("authenticate", False, 0.0, str(refused))], 0.0, code, str(refused)
            )
            return result, self.record_test(source, result)
        result = self._connectors.check(
            target_of(source.spec, credentials), credentials, self._budget(source, deadline_seconds)
        )
        return result, self.record_test(source, result)

    def _credentials(self, source: DataSource) -> dict[str, str]:
        return credentials_for(source, self._data_sources.credentials_of(source))

    def check_unsaved(
        self, principal: Principal, spec: DataSourceSpec, credentials: dict[str, str], deadline_seconds: float
    ) -> ConnectionTestResult:
        """Test a configuration that is not stored; nothing is written anywhere."""
        principal.require_write()
        errors = configuration_errors(spec)
        if errors:
            raise ValidationFailed(errors)
        return self._connectors.check(
            target_of(spec, credentials), credentials, min(spec.connection_timeout, deadline_seconds)
        )

    def record_test(self, tested: DataSource, result: ConnectionTestResult) -> DataSource:
        now = self._clock()

        def outcome(current: DataSource) -> dict[str, Any]:
            if connection_changed(tested.spec, current.spec) or tested.secret_version != current.secret_version:
                return {}  # the configuration changed while we tested: this result says nothing about it
            return connection_checked(current, now, healthy=result.success, reason=tested_reason(result))

        updated = self._data_sources.apply_registry_update(tested.tenant_id, tested.id, outcome)
        if updated is None:
            raise NotFound("The data source was deleted during the test.")
        return updated

    # -- discovery ----------------------------------------------------------------------------------------
    def discover(self, principal: Principal, reference: str, deadline_seconds: float) -> Discovery:
        principal.require_write()
        source = self._data_sources.get(principal, reference)
        return self.discover_source(source, deadline_seconds)

    def discover_source(self, source: DataSource, deadline_seconds: float) -> Discovery:
        """Discover, store a new version only if the schema changed, and stamp the source."""
        try:
            credentials = self._credentials(source)
        except (PermissionError, LookupError) as refused:
            code = "PERMISSION_DENIED" if isinstance(refused, PermissionError) else "NOT_FOUND"
            raise DiscoveryFailed(code, str(refused)) from None
        return self._discover_with(source, credentials, deadline_seconds)

    def discover_for_job(
        self,
        tenant_id: str,
        data_source_id: str,
        deadline_seconds: float,
        progress: Callable[[int, int | None], None],
    ) -> Discovered:
        """A discovery job's run (domain/jobs.py): the whole `deadline_seconds`, not capped by the connection timeout
        (which still bounds connecting); the result as the job records it."""
        source = self._data_sources.get(Principal(WORKER, tenant_id, Role.ADMIN), data_source_id)
        try:
            credentials = self._credentials(source)
        except (PermissionError, LookupError) as refused:
            code = "PERMISSION_DENIED" if isinstance(refused, PermissionError) else "NOT_FOUND"
            raise DiscoveryFailed(code, str(refused)) from None
        discovery = self._discover_with(
            source, credentials, deadline_seconds, progress=progress, capped=False, stamp=False
        )
        meta = discovery.meta
        result = {  # the discover-schema answer's fields (api/schemas.DiscoveryView), kept on the job
            "dataSourceId": source.id,
            "version": meta.version,
            "fingerprint": meta.fingerprint,
            "discoveredAt": meta.discovered_at.isoformat().replace("+00:00", "Z"),
            "tableCount": meta.table_count,
            "estimatedRows": meta.estimated_rows,
            "changed": discovery.changed,
            "diff": discovery.diff.summary() if discovery.diff else None,
        }
        return Discovered(result, drift_notice(discovery) if discovery.changed else None)

    def _discover_with(
        self,
        source: DataSource,
        credentials: dict[str, str],
        deadline_seconds: float,
        *,
        progress: Callable[[int, int | None], None] | None = None,
        capped: bool = True,
        stamp: bool = True,
    ) -> Discovery:
        """Discover, store a new version only if the schema changed, and (`stamp`) stamp the source; a job stamps
        the source itself once its own outcome is recorded, so the record's write is the last of the run."""
        budget = self._budget(source, deadline_seconds) if capped else max(0.5, deadline_seconds)
        try:
            schema = self._connectors.discover(target_of(source.spec, credentials), credentials, budget)
        except ConnectorError as failure:
            raise DiscoveryFailed(failure.code.value, failure.message) from None
        if progress:
            progress(0, len(schema.tables))
        now = self._clock()
        latest = self._snapshots.latest(source.tenant_id, source.id)
        fingerprint = schema.fingerprint()
        if latest is not None and latest.fingerprint == fingerprint:
            if progress:
                progress(len(schema.tables), len(schema.tables))
            if stamp:
                self._stamp(source.tenant_id, source.id, now, latest.estimated_rows)
            return Discovery(source.id, latest, changed=False, diff=None)
        tables = [table.to_dict() for table in sorted(schema.tables, key=lambda t: (t.schema, t.name))]
        rows = [t.estimated_rows for t in schema.tables if t.estimated_rows is not None]
        meta = SnapshotMeta(
            version=(latest.version + 1) if latest else 1,
            fingerprint=fingerprint,
            discovered_at=now,
            table_count=len(tables),
            estimated_rows=sum(rows) if rows else None,
            chunk_starts=(),
            write_id=random_tokens.token_hex(6),
        )
        try:
            stored = self._snapshots.save(source.tenant_id, source.id, meta, tables)
        except StaleVersion:
            raise DiscoveryFailed("CONFLICT", "Another discovery of this source finished first; retry.") from None
        family = family_of(source.spec.type.value if source.spec.type else None)
        diff = diff_schemas(self._load(source, latest), schema, family) if latest else None
        if progress:
            progress(len(tables), len(tables))
        if stamp:
            self._stamp(source.tenant_id, source.id, now, stored.estimated_rows)
        return Discovery(source.id, stored, changed=True, diff=diff)

    def record_discovered(self, tenant_id: str, data_source_id: str, result: dict[str, Any]) -> None:
        """Stamp the source with a job's discovery (schemaDiscoveredAt, recordCount), as a direct discovery does: from
        the job's own result, with no read of the source or its snapshot (a source deleted meanwhile is left gone)."""
        discovered_at = datetime.fromisoformat(str(result["discoveredAt"]).replace("Z", "+00:00"))
        self._stamp(tenant_id, data_source_id, discovered_at, result.get("estimatedRows"))

    def _stamp(self, tenant_id: str, data_source_id: str, now: datetime, estimated_rows: int | None) -> None:
        def stamp(current: DataSource) -> dict[str, Any]:
            spec = current.spec
            if estimated_rows is not None:
                spec = spec.model_copy(update={"record_count": estimated_rows})
            return {"schema_discovered_at": now, "spec": spec}

        self._data_sources.apply_registry_update(tenant_id, data_source_id, stamp)

    # -- snapshots ----------------------------------------------------------------------------------------
    def snapshot(
        self, principal: Principal, reference: str, version: int | None, offset: int, limit: int
    ) -> tuple[DataSource, SnapshotMeta, list[dict[str, Any]]]:
        source = self._data_sources.get(principal, reference)
        meta = self._meta(source, version)
        limit = max(1, min(limit, MAX_TABLE_PAGE))
        return source, meta, self._snapshots.tables(source.tenant_id, source.id, meta, offset, limit)

    def diff(self, principal: Principal, reference: str, old: int, new: int) -> tuple[DataSource, SchemaDiff]:
        source = self._data_sources.get(principal, reference)
        before, after = self._meta(source, old), self._meta(source, new)
        family = family_of(source.spec.type.value if source.spec.type else None)
        return source, diff_schemas(self._load(source, before), self._load(source, after), family)

    # -- scheduled refresh (the SchemaRefresher port) -------------------------------------------------------
    def refresh(self, source: DataSource, credentials: dict[str, str]) -> RefreshOutcome:
        """Test, then discover and store: every failure is an outcome (already free of secrets), never raised."""
        resolved = credentials_for(source, credentials)
        budget = self._budget(source, REFRESH_SECONDS)
        tested = self._connectors.check(target_of(source.spec, resolved), resolved, budget)
        if not tested.success:
            return RefreshOutcome(ok=False, error_code=tested.error_code, error=tested.error, healthy=False)
        try:
            discovery = self._discover_with(source, resolved, REFRESH_SECONDS)
        except DiscoveryFailed as failure:
            return RefreshOutcome(ok=False, error_code=failure.code, error=failure.detail, healthy=True)
        return RefreshOutcome(
            ok=True,
            changed=discovery.changed,
            version=discovery.meta.version,
            diff_summary=discovery.diff.summary() if discovery.diff else None,
            drift=drift_notice(discovery),
            healthy=True,
        )

    def check(self, source: DataSource, credentials: dict[str, str]) -> RefreshOutcome:
        """The first connection check of a configured source (000: it reaches a healthy state by itself)."""
        resolved = credentials_for(source, credentials)
        tested = self._connectors.check(
            target_of(source.spec, resolved), resolved, self._budget(source, REFRESH_SECONDS)
        )
        return RefreshOutcome(
            ok=tested.success,
            error_code=tested.error_code,
            error=tested.error,
            healthy=tested.success,
            checked_only=True,
        )

    def forget(self, source: DataSource) -> None:
        """Remove everything the source owns besides its record and secret (its snapshots)."""
        self._snapshots.delete_all(source.tenant_id, source.id)

    def _meta(self, source: DataSource, version: int | None) -> SnapshotMeta:
        meta = (
            self._snapshots.latest(source.tenant_id, source.id)
            if version is None
            else self._snapshots.meta(source.tenant_id, source.id, version)
        )
        if meta is None:
            what = (
                "no schema has been discovered yet" if version is None else f"schema version {version} does not exist"
            )
            raise NotFound(f"Data source {source.key!r}: {what}.")
        return meta

    def _load(self, source: DataSource, meta: SnapshotMeta) -> DiscoveredSchema:
        tables = self._snapshots.tables(source.tenant_id, source.id, meta, 0, meta.table_count)
        return DiscoveredSchema.from_dict({"tables": tables})

    @staticmethod
    def _budget(source: DataSource, deadline_seconds: float) -> float:
        return max(0.5, min(float(source.spec.connection_timeout), deadline_seconds))
