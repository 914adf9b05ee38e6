"""`constructed` makes exactly what pydantic's model_construct makes from complete values, only faster."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from datasource_registry.api.canonical import DataSourceView, canonical_view
from datasource_registry.domain.model import DataSource, DataSourceSpec, Schedule, constructed

SPEC = DataSourceSpec.model_validate(
    {"name": "Orders", "type": "postgresql", "host": "db", "port": 5432, "databaseName": "d", "tags": ["a"]}
)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SOURCE = DataSource(
    id="ds_01kaqz5h0000000000000000000",
    tenant_id="t",
    key="orders",
    spec=SPEC,
    created_at=NOW,
    updated_at=NOW,
    created_by="alice",
)


@pytest.mark.parametrize("model", [SPEC, SPEC.schedule, SOURCE])
def test_a_constructed_model_equals_model_construct_and_dumps_the_same(model):
    values = dict(model.__dict__)
    built = constructed(type(model), dict(values))

    assert built == type(model).model_construct(**values) == model
    assert built.model_dump(mode="json", by_alias=True) == model.model_dump(mode="json", by_alias=True)
    assert built.model_fields_set == set(values)


def test_the_canonical_view_is_the_view_model_s_own_serialization():
    data = canonical_view(SOURCE)

    assert DataSourceView.model_validate(data).model_dump(mode="json", by_alias=True)["name"] == "Orders"
    assert data["createdAt"] == "2026-11-23T12:00:00Z" and data["schedule"] == {}


def test_incomplete_or_unknown_values_are_refused_at_once():
    values = dict(Schedule().__dict__)
    with pytest.raises(TypeError, match="missing"):
        constructed(Schedule, dict(list(values.items())[1:]))
    with pytest.raises(TypeError, match="unknown"):
        constructed(Schedule, {**values, "extra": 1})
