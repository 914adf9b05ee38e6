"""The data source as it is stored (the `doc` attribute of its item), apart from the domain and API models.

Reading is lenient so that records written by earlier versions stay readable: unknown fields are ignored (a field
this version removed), missing ones take their defaults (a field it added), and the write-time rules of the API
(name characters, patterns, URL shapes) are not re-run on what was already accepted. Writing checks what DynamoDB
itself would refuse later: an item past its 400 KB limit is a 400 naming the field, never a 503 that retrying
cannot cure.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from datasource_registry.domain.errors import FieldError, ValidationFailed
from datasource_registry.domain.model import DataSource, DataSourceSpec, Schedule, adopted
from datasource_registry.domain.types import DataSourceType, Status, SyncMode

# DynamoDB's item limit is 400 KB for names and values together; keys, markers and index attributes take a few.
MAX_DOCUMENT_BYTES = 380 * 1024

_LENIENT = ConfigDict(extra="ignore")


class StoredSchedule(BaseModel):
    model_config = _LENIENT
    cron: str | None = None
    timezone: str | None = None


class StoredSpec(BaseModel):
    """Every field of DataSourceSpec (a unit test checks none is missing), with types but without the API's rules."""

    model_config = _LENIENT
    name: str
    description: str = ""
    type: str | None = None
    connector_key: str = ""
    workspace_id: int | None = None
    host: str | None = None
    port: int | None = None
    database_name: str | None = None
    schema_name: str | None = None
    connection_string: str | None = None
    file_path: str | None = None
    use_ssh_tunnel: bool = False
    ssh_host: str | None = None
    ssh_port: int = 22
    ssh_username: str | None = None
    ssh_local_port: int | None = None
    ssh_host_key_fingerprint: str | None = None
    connection_pool_size: int = 5
    connection_timeout: int = 30
    query_timeout: int = 300
    max_retries: int = 3
    schema_auto_refresh: bool = True
    schema_refresh_interval: int = 3600
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    source_config: dict[str, Any] = Field(default_factory=dict)
    file_format: str | None = None
    sync_mode: str = SyncMode.FULL_REFRESH.value
    schedule: StoredSchedule = Field(default_factory=StoredSchedule)
    schema_key: str | None = None
    status: str = Status.DRAFT.value
    last_sync_at: datetime | None = None
    last_sync_status: str | None = None
    record_count: int = 0
    include_patterns: list[str] = Field(default_factory=list)
    exclude_patterns: list[str] = Field(default_factory=list)
    region: str | None = None
    warehouse: str | None = None
    role: str | None = None
    secret_refs: dict[str, str] = Field(default_factory=dict)
    secret_manager_key: str | None = None

    def to_domain(self) -> DataSourceSpec:
        values = dict(self.__dict__)  # every field, as read (the schedule is rebuilt below)
        # A value this version no longer knows degrades to what a reader can still act on, never an error.
        values["type"] = DataSourceType._value2member_map_.get(self.type or "")
        values["sync_mode"] = SyncMode._value2member_map_.get(self.sync_mode, SyncMode.FULL_REFRESH)
        values["status"] = Status._value2member_map_.get(self.status, Status.DRAFT)
        values["schedule"] = adopted(Schedule, dict(self.schedule.__dict__))
        return adopted(DataSourceSpec, values)  # same fields (_SAME_FIELDS, checked at import)


class StoredDataSource(BaseModel):
    """The `doc` of a data source's item: everything but what the item holds as its own attributes."""

    model_config = _LENIENT
    key: str
    spec: StoredSpec
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str | None = None
    secret_arn: str | None = None
    secret_version: str | None = None
    credential_names: list[str] = Field(default_factory=list)
    last_tested_at: datetime | None = None
    last_successful_connection_at: datetime | None = None
    last_failed_connection_at: datetime | None = None
    last_test_ok: bool | None = None
    failure_count: int = 0
    failure_reason: str | None = None
    schema_discovered_at: datetime | None = None
    last_refresh_at: datetime | None = None
    last_refresh_status: str | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)
    system_ids: list[str] = Field(default_factory=list)
    refresh_failures: int = 0
    refresh_started_at: datetime | None = None

    # Held by the item as index attributes (authoritative there), not in the document; read back from them.
    next_refresh_at: datetime | None = None
    refresh_claim: str | None = None

    @classmethod
    def of(cls, source: DataSource) -> StoredDataSource:
        values = {name: getattr(source, name) for name in cls.model_fields if name != "spec"}
        return cls.model_validate({**values, "spec": source.spec.model_dump(mode="json")})

    def to_domain(self, *, data_source_id: str, tenant_id: str, row_version: int, revision: int = 0) -> DataSource:
        # Constructed, not validated: the domain model's rules (and their fill-ins) belong to writes.
        values = dict(self.__dict__)  # every field, as read; the spec is replaced by the domain's below
        values.update(
            spec=self.spec.to_domain(),
            id=data_source_id,
            tenant_id=tenant_id,
            row_version=row_version,
            revision=revision,
        )
        return adopted(DataSource, values)  # this document's fields plus the item's (_SAME_FIELDS)


_ITEM_FIELDS = {"id", "tenant_id", "row_version", "revision"}  # the item's own attributes, not the document's
# What is read back is built without a per-record check of its fields (a validated model holds exactly its own):
# the stored models must have the domain's fields, checked once here, so a field added to one and not the other
# fails every import instead of making records without it.
_SAME_FIELDS: list[tuple[type[BaseModel], set[str]]] = [
    (StoredSchedule, set(Schedule.model_fields)),
    (StoredSpec, set(DataSourceSpec.model_fields)),
    (StoredDataSource, set(DataSource.model_fields) - _ITEM_FIELDS),
]
for _stored, _fields in _SAME_FIELDS:
    if set(_stored.model_fields) != _fields:
        raise TypeError(
            f"{_stored.__name__} does not have the domain's fields: {sorted(_fields ^ set(_stored.model_fields))}"
        )


ATTRIBUTES = {"next_refresh_at", "refresh_claim"}


def document_of(source: DataSource) -> str:
    """The stored JSON of a source; ValidationFailed naming the largest field when DynamoDB could not hold it."""
    document = StoredDataSource.of(source).model_dump_json(exclude=ATTRIBUTES)
    size = len(document.encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        raise ValidationFailed(
            [FieldError(_largest_field(source), f"makes the data source {size} bytes; at most {MAX_DOCUMENT_BYTES}")],
            "The data source would exceed DynamoDB's 400 KB item limit.",
        )
    return document


def source_of(
    document: str, *, data_source_id: str, tenant_id: str, row_version: int, revision: int = 0, **attributes: Any
) -> DataSource:
    """The domain's data source from a stored document plus the item's own attributes (ATTRIBUTES, revision)."""
    stored = StoredDataSource.model_validate_json(document)  # parsed and validated in one pass (pydantic-core)
    stored.__dict__.update({name: attributes.get(name) for name in ATTRIBUTES})
    return stored.to_domain(
        data_source_id=data_source_id, tenant_id=tenant_id, row_version=row_version, revision=revision
    )


def _largest_field(source: DataSource) -> str:
    """The field a client would shorten: the spec's (camelCase) or a dialect's own (e.g. 000's entity_info)."""
    sizes = {to_camel(name): len(json.dumps(value)) for name, value in source.spec.model_dump(mode="json").items()}
    for section in source.extensions.values():  # a dialect's own fields, by the name that dialect gives them
        if isinstance(section, dict):
            sizes.update({str(name): len(json.dumps(value)) for name, value in section.items()})
    return max(sizes, key=sizes.__getitem__)
