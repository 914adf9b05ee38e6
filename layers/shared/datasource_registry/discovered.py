"""What a discovery finds: tables, columns and keys, with a stable fingerprint and a compact JSON form.

Neutral ground: the connectors build it, the domain versions and diffs it, the runners carry it; it imports
nothing of the project.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

FORMAT_VERSION = 1


class Column(NamedTuple):
    # A NamedTuple, not a dataclass: discovery builds hundreds of thousands of these.
    name: str
    type: str
    nullable: bool
    default: str | None
    ordinal: int


@dataclass(frozen=True, slots=True)
class Table:
    schema: str
    name: str
    kind: str  # "table" or "view"
    columns: list[Column]
    primary_key: list[str] = field(default_factory=list)
    estimated_rows: int | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """Compact form: each column is [name, type, nullable, default, ordinal]."""
        out: dict[str, Any] = {
            "schema": self.schema,
            "name": self.name,
            "kind": self.kind,
            "columns": [[c.name, c.type, c.nullable, c.default, c.ordinal] for c in self.columns],
        }
        if self.primary_key:
            out["primaryKey"] = list(self.primary_key)
        if self.estimated_rows is not None:
            out["estimatedRows"] = self.estimated_rows
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Table:
        return cls(
            schema=data["schema"],
            name=data["name"],
            kind=data.get("kind", "table"),
            columns=[Column(c[0], c[1], bool(c[2]), c[3], int(c[4])) for c in data.get("columns", [])],
            primary_key=list(data.get("primaryKey", [])),
            estimated_rows=data.get("estimatedRows"),
        )

    def canonical(self) -> list[Any]:
        # Row estimates change all the time; they are not part of the schema's identity.
        cols = sorted(self.columns, key=lambda c: (c.ordinal, c.name))
        return [
            self.schema,
            self.name,
            self.kind,
            [[c.name, c.type, c.nullable, c.default] for c in cols],
            list(self.primary_key),
        ]


@dataclass(frozen=True)
class DiscoveredSchema:
    tables: list[Table]
    details: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """sha256 of the canonical content; equal schemas (in any table order) give equal fingerprints."""
        digest = hashlib.sha256()
        for table in sorted(self.tables, key=lambda t: (t.schema, t.name)):
            digest.update(json.dumps(table.canonical(), separators=(",", ":"), ensure_ascii=False).encode())
            digest.update(b"\n")
        return "sha256:" + digest.hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "formatVersion": FORMAT_VERSION,
            "fingerprint": self.fingerprint(),
            "tableCount": len(self.tables),
            "tables": [t.to_dict() for t in self.tables],
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiscoveredSchema:
        return cls(tables=[Table.from_dict(t) for t in data.get("tables", [])], details=dict(data.get("details", {})))
