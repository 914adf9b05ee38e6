"""Schema drift that says what breaks: each change of a schema diff gets a kind and a severity.

Severity is judged for the consumers of a source (queries, pipelines, dashboards that read it):

- `breaking`: a table or column removed or renamed, a type narrowed or changed to anything not known to hold every
  old value with the same meaning, nullable -> NOT NULL, a primary key changed, a table turned into a view (or back).
- `non_breaking`: a table or column added, a type widened (the tables below), NOT NULL -> nullable.

Type widening is a table per engine family, deliberately small: a change is `non_breaking` only when the table says
so, and any type it does not know (other engines, user-defined types, odd modifiers) changes `breaking`.

Renames, the rule: a column removed and a column added in the same table at the same ordinal position, with the
same type and nullability, is one `column_renamed` change; a table removed and a table added in the same schema with
exactly the same columns, key and kind is one `table_renamed` change, when that pairing is the only one possible.
PostgreSQL keeps a column's position (attnum) on RENAME and gives an added column a new one, so there a drop + add
never reads as a rename; MySQL renumbers positions, so dropping the last column and adding one of the same type and
nullability reads as a rename (breaking either way). A rename together with a type change reads as removed + added.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal, Protocol, TypeVar

Family = Literal["postgres", "mysql", "other"]
T = TypeVar("T")


class Severity(StrEnum):
    BREAKING = "breaking"
    NON_BREAKING = "non_breaking"


class ChangeKind(StrEnum):
    TABLE_ADDED = "table_added"
    TABLE_REMOVED = "table_removed"
    TABLE_RENAMED = "table_renamed"
    TABLE_KIND_CHANGED = "table_kind_changed"
    COLUMN_ADDED = "column_added"
    COLUMN_REMOVED = "column_removed"
    COLUMN_RENAMED = "column_renamed"
    TYPE_CHANGED = "type_changed"
    NULLABILITY_CHANGED = "nullability_changed"
    KEY_CHANGED = "key_changed"


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """One change. `before`/`after` are types for column and type changes, names for renames, "nullable" or
    "not null" for nullability, the key's columns joined by commas (None: no key) for key changes."""

    kind: ChangeKind
    severity: Severity
    table: str
    column: str | None = None
    before: str | None = None
    after: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "kind": self.kind.value,
            "severity": self.severity.value,
            "table": self.table,
            "column": self.column,
            "before": self.before,
            "after": self.after,
        }


class ColumnShape(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def nullable(self) -> bool: ...
    @property
    def ordinal(self) -> int: ...


class TableShape(Protocol):
    @property
    def schema(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def columns(self) -> Sequence[ColumnShape]: ...
    @property
    def primary_key(self) -> Sequence[str]: ...


def family_of(source_type: str | None) -> Family:
    """The type family a source's columns are read in (Redshift and MariaDB report their parents' type names)."""
    if source_type in ("postgresql", "redshift"):
        return "postgres"
    if source_type in ("mysql", "mariadb"):
        return "mysql"
    return "other"


# -- types ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SqlType:
    """A type name taken apart: base name, modifiers in parentheses, MySQL's unsigned flag, PostgreSQL's array depth."""

    base: str
    args: tuple[str, ...] = ()
    unsigned: bool = False
    array: int = 0

    def numbers(self) -> tuple[int, ...] | None:
        return tuple(int(a) for a in self.args) if all(a.isdigit() for a in self.args) else None


_SHAPE = re.compile(r"(?P<head>[a-z_][a-z0-9_ ]*?)\s*(?:\((?P<args>.*)\)\s*(?P<tail>[a-z ]*))?", re.DOTALL)
_QUOTED = re.compile(r"'((?:[^']|'')*)'")

_PG_ALIASES = {
    "int2": "smallint",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "decimal": "numeric",
    "varchar": "character varying",
    "char": "character",
    "bpchar": "character",
    "varbit": "bit varying",
    "bool": "boolean",
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "time": "time without time zone",
    "timetz": "time with time zone",
}
_MYSQL_ALIASES = {"integer": "int", "numeric": "decimal", "dec": "decimal", "fixed": "decimal", "real": "double"}
# A type without a stated precision has this one (PostgreSQL: microseconds; MySQL: whole seconds).
_PG_TIME = ("timestamp without time zone", "timestamp with time zone", "time without time zone", "time with time zone")
_MYSQL_TIME = ("datetime", "timestamp", "time")


@lru_cache(maxsize=4096)  # a catalogue repeats a few type names across many thousands of columns
def parse_type(family: Family, text: str) -> SqlType:
    """The type name as this family spells it canonically (aliases and implied modifiers resolved)."""
    name = " ".join(text.lower().split())
    array = 0
    if family == "postgres":
        while name.endswith("[]"):
            name, array = name[:-2].rstrip(), array + 1
    shape = _SHAPE.fullmatch(name)
    if shape is None:
        return SqlType(name, array=array)
    raw_args = shape["args"]
    base = f"{shape['head']} {shape['tail'] or ''}".strip()
    unsigned = False
    if family == "mysql":
        words = base.split()
        unsigned = "unsigned" in words
        base = " ".join(w for w in words if w not in ("unsigned", "zerofill", "signed"))
    if raw_args is None:
        args: tuple[str, ...] = ()
    elif base in ("enum", "set"):
        args = tuple(value.replace("''", "'") for value in _QUOTED.findall(raw_args))
    else:
        args = tuple(a.strip() for a in raw_args.split(","))
    if family == "postgres":
        return _postgres_canonical(SqlType(_PG_ALIASES.get(base, base), args, array=array))
    if family == "mysql":
        return _mysql_canonical(SqlType(_MYSQL_ALIASES.get(base, base), args, unsigned))
    return SqlType(base, args)


def _postgres_canonical(sql: SqlType) -> SqlType:
    if sql.base == "character varying" and not sql.args:
        return SqlType("text", array=sql.array)  # unbounded varchar holds exactly what text holds
    if sql.base == "numeric" and len(sql.args) == 1:
        return SqlType("numeric", (sql.args[0], "0"), array=sql.array)
    if sql.base in _PG_TIME and not sql.args:
        return SqlType(sql.base, ("6",), array=sql.array)
    return sql


_MYSQL_INTEGERS = ("tinyint", "smallint", "mediumint", "int", "bigint")


def _mysql_canonical(sql: SqlType) -> SqlType:
    if sql.base in _MYSQL_INTEGERS:
        # The display width means nothing to the values, except tinyint(1): drivers read it as a boolean.
        keep = ("1",) if sql.base == "tinyint" and sql.args == ("1",) else ()
        return SqlType(sql.base, keep, sql.unsigned)
    if sql.base in {"bool", "boolean"}:
        return SqlType("tinyint", ("1",))
    if sql.base == "decimal" and len(sql.args) < 2:
        return SqlType("decimal", ((sql.args or ("10",))[0], "0"), sql.unsigned)
    if sql.base in _MYSQL_TIME and not sql.args:
        return SqlType(sql.base, ("0",), sql.unsigned)
    return sql


# The digits of the largest value of each integer type: numeric(p, s) holds it when p - s reaches them.
_PG_INT_DIGITS = {"smallint": 5, "integer": 10, "bigint": 19}
_MYSQL_INT_DIGITS = {
    ("tinyint", False): 3,
    ("smallint", False): 5,
    ("mediumint", False): 7,
    ("int", False): 10,
    ("bigint", False): 19,
    ("tinyint", True): 3,
    ("smallint", True): 5,
    ("mediumint", True): 8,
    ("int", True): 10,
    ("bigint", True): 20,
}
_MYSQL_INT_BYTES = {"tinyint": 1, "smallint": 2, "mediumint": 3, "int": 4, "bigint": 8}
# Integers every value of which a float keeps exactly (24-bit and 53-bit significands).
_PG_EXACT_FLOAT = {("smallint", "real"), ("smallint", "double precision"), ("integer", "double precision")}
_MYSQL_EXACT_FLOAT = {
    "float": ("tinyint", "smallint", "mediumint"),
    "double": ("tinyint", "smallint", "mediumint", "int"),
}
# Capacity in bytes; a varchar(n) takes at most 4n bytes (utf8mb4), varbinary(n) n bytes.
_MYSQL_TEXT = {"tinytext": 255, "text": 65_535, "mediumtext": 16_777_215, "longtext": 4_294_967_295}
_MYSQL_BLOB = {"tinyblob": 255, "blob": 65_535, "mediumblob": 16_777_215, "longblob": 4_294_967_295}
# Modifiers that must only grow: length, fractional-second precision.
_PG_GROWING = {"character varying", "bit varying", *_PG_TIME, "interval"}
_MYSQL_GROWING = {"varchar", "varbinary", "bit", *_MYSQL_TIME}


@lru_cache(maxsize=16384)
def widens(family: Family, before: str, after: str) -> bool:
    """True when every value of type `before` is a value of type `after` with the same meaning (equal types too)."""
    old, new = parse_type(family, before), parse_type(family, after)
    if old == new:
        return True
    if family == "postgres":
        return _postgres_widens(old, new)
    if family == "mysql":
        return _mysql_widens(old, new)
    return False


def _numeric_holds(old: tuple[int, ...], new: tuple[int, ...]) -> bool:
    """numeric(p, s) -> numeric(p', s'): no fewer fraction digits and no fewer integer digits."""
    return len(old) == len(new) == 2 and new[1] >= old[1] and new[0] - new[1] >= old[0] - old[1]


def _postgres_widens(old: SqlType, new: SqlType) -> bool:
    if old.array != new.array:
        return False
    old_n, new_n = old.numbers(), new.numbers()
    if old.base in _PG_INT_DIGITS:
        if new.base in _PG_INT_DIGITS:
            return _PG_INT_DIGITS[new.base] >= _PG_INT_DIGITS[old.base]
        if new.base == "numeric":
            if not new.args:
                return True
            return new_n is not None and len(new_n) == 2 and new_n[0] - new_n[1] >= _PG_INT_DIGITS[old.base]
        return (old.base, new.base) in _PG_EXACT_FLOAT
    if old.base == "real":
        return new.base == "double precision"
    if old.base == "numeric" and new.base == "numeric" and old_n is not None and new_n is not None:
        if not new_n:
            return True  # unbounded numeric holds any numeric(p, s)
        return _numeric_holds(_with_scale(old_n), _with_scale(new_n)) if old_n else False
    if old.base == "character varying" and old_n is not None:
        if new.base == "text":
            return True
        return new.base == old.base and new_n is not None and len(old_n) == len(new_n) == 1 and new_n >= old_n
    if old.base in _PG_GROWING and old.base == new.base and old_n is not None and new_n is not None:
        return len(old_n) == len(new_n) == 1 and new_n >= old_n
    return False


def _with_scale(numbers: tuple[int, ...]) -> tuple[int, ...]:
    return (numbers[0], 0) if len(numbers) == 1 else numbers


def _mysql_widens(old: SqlType, new: SqlType) -> bool:
    old_n, new_n = old.numbers(), new.numbers()
    if old.base in _MYSQL_INTEGERS and not old.args:  # tinyint(1) (a boolean to drivers) widens to nothing
        if new.base in _MYSQL_INTEGERS and not new.args:
            if old.unsigned == new.unsigned:
                return _MYSQL_INT_BYTES[new.base] >= _MYSQL_INT_BYTES[old.base]
            return old.unsigned and _MYSQL_INT_BYTES[new.base] > _MYSQL_INT_BYTES[old.base]
        if new.base == "decimal" and new_n is not None and not (new.unsigned and not old.unsigned):
            return new_n[0] - new_n[1] >= _MYSQL_INT_DIGITS[(old.base, old.unsigned)]
        return old.base in _MYSQL_EXACT_FLOAT.get(new.base, ()) and not new.args and not new.unsigned
    if old.base == "float" and not old.args:
        return new.base == "double" and not new.args and (old.unsigned or not new.unsigned)
    if old.base == "decimal" and new.base == "decimal" and old_n is not None and new_n is not None:
        return (old.unsigned or not new.unsigned) and _numeric_holds(old_n, new_n)
    if old.base == "varchar" and old_n is not None and len(old_n) == 1:
        return (new.base == "varchar" and new_n is not None and len(new_n) == 1 and new_n >= old_n) or (
            new.base in _MYSQL_TEXT and 4 * old_n[0] <= _MYSQL_TEXT[new.base]
        )
    if old.base == "varbinary" and old_n is not None and len(old_n) == 1:
        return (new.base == "varbinary" and new_n is not None and len(new_n) == 1 and new_n >= old_n) or (
            new.base in _MYSQL_BLOB and old_n[0] <= _MYSQL_BLOB[new.base]
        )
    for ladder in (_MYSQL_TEXT, _MYSQL_BLOB):
        if old.base in ladder and new.base in ladder and not old.args and not new.args:
            return ladder[new.base] >= ladder[old.base]
    if old.base in ("enum", "set") and new.base == old.base:
        # Values appended keep every old value and its index (enums sort by index); anything else may not.
        return new.args[: len(old.args)] == old.args
    if old.base in _MYSQL_GROWING and old.base == new.base and old_n is not None and new_n is not None:
        return len(old_n) == len(new_n) == 1 and new_n >= old_n and old.unsigned == new.unsigned
    return False


def type_severity(family: Family, before: str, after: str) -> Severity:
    return Severity.NON_BREAKING if widens(family, before, after) else Severity.BREAKING


# -- changes -------------------------------------------------------------------------------------------------
def _key(table: TableShape) -> str | None:
    return ",".join(table.primary_key) or None


def _qualified(table: TableShape) -> str:
    return f"{table.schema}.{table.name}"


def _identity(table: TableShape) -> Hashable:
    """What a renamed table keeps: its columns, key and kind (everything but its name)."""
    columns = sorted((c.ordinal, c.name, c.type, c.nullable) for c in table.columns)
    return (table.schema, table.kind, tuple(columns), tuple(table.primary_key))


def changes_between(
    old: Iterable[TableShape], new: Iterable[TableShape], family: Family = "other"
) -> list[SchemaChange]:
    """Every change from `old` to `new`, breaking ones first, then by table and column."""
    before = {_qualified(t): t for t in old}
    after = {_qualified(t): t for t in new}
    found: list[SchemaChange] = []
    removed = [before[name] for name in sorted(before.keys() - after.keys())]
    added = [after[name] for name in sorted(after.keys() - before.keys())]
    renamed = _paired(removed, added, _identity)
    for gone, came in ((removed[i], added[j]) for i, j in renamed.items()):
        found.append(
            SchemaChange(ChangeKind.TABLE_RENAMED, Severity.BREAKING, _qualified(came), None, gone.name, came.name)
        )
    arrived = set(renamed.values())
    found += [
        SchemaChange(ChangeKind.TABLE_REMOVED, Severity.BREAKING, _qualified(t))
        for i, t in enumerate(removed)
        if i not in renamed
    ]
    found += [
        SchemaChange(ChangeKind.TABLE_ADDED, Severity.NON_BREAKING, _qualified(t))
        for j, t in enumerate(added)
        if j not in arrived
    ]
    for name in sorted(before.keys() & after.keys()):
        old_t, new_t = before[name], after[name]
        if old_t.columns != new_t.columns or old_t.primary_key != new_t.primary_key or old_t.kind != new_t.kind:
            found += _table_changes(name, old_t, new_t, family)
    return sorted(found, key=_order)


def _order(change: SchemaChange) -> tuple[bool, str, str, str]:
    return (change.severity is not Severity.BREAKING, change.table, change.column or "", change.kind.value)


def _paired(removed: Sequence[T], added: Sequence[T], identity: Callable[[T], Hashable]) -> dict[int, int]:
    """Positions of removed -> added items whose identity matches exactly one item on each side."""
    if not removed or not added:
        return {}  # the common case, and a catalogue of new tables is not hashed for nothing
    gone = Counter(identity(r) for r in removed)
    came = Counter(identity(a) for a in added)
    position = {identity(a): i for i, a in enumerate(added)}
    return {i: position[identity(r)] for i, r in enumerate(removed) if gone[identity(r)] == 1 == came[identity(r)]}


def _table_changes(name: str, old: TableShape, new: TableShape, family: Family) -> list[SchemaChange]:
    found: list[SchemaChange] = []
    if old.kind != new.kind:
        found.append(SchemaChange(ChangeKind.TABLE_KIND_CHANGED, Severity.BREAKING, name, None, old.kind, new.kind))
    old_cols = {c.name: c for c in old.columns}
    new_cols = {c.name: c for c in new.columns}
    removed = [old_cols[c] for c in sorted(old_cols.keys() - new_cols.keys())]
    added = [new_cols[c] for c in sorted(new_cols.keys() - old_cols.keys())]
    renamed = _paired(removed, added, _column_identity)
    arrived = {added[j].name for j in renamed.values()}
    for i, gone in enumerate(removed):
        if i in renamed:
            came = added[renamed[i]]
            found.append(
                SchemaChange(ChangeKind.COLUMN_RENAMED, Severity.BREAKING, name, came.name, gone.name, came.name)
            )
        else:
            found.append(SchemaChange(ChangeKind.COLUMN_REMOVED, Severity.BREAKING, name, gone.name, gone.type))
    for came in added:
        if came.name not in arrived:
            found.append(SchemaChange(ChangeKind.COLUMN_ADDED, Severity.NON_BREAKING, name, came.name, None, came.type))
    for column in sorted(old_cols.keys() & new_cols.keys()):
        was, now = old_cols[column], new_cols[column]
        if was.type != now.type:
            severity = type_severity(family, was.type, now.type)
            found.append(SchemaChange(ChangeKind.TYPE_CHANGED, severity, name, column, was.type, now.type))
        if was.nullable != now.nullable:
            severity = Severity.NON_BREAKING if now.nullable else Severity.BREAKING
            found.append(
                SchemaChange(
                    ChangeKind.NULLABILITY_CHANGED, severity, name, column, _nullability(was), _nullability(now)
                )
            )
    if list(old.primary_key) != list(new.primary_key):
        found.append(SchemaChange(ChangeKind.KEY_CHANGED, Severity.BREAKING, name, None, _key(old), _key(new)))
    return found


def _column_identity(column: ColumnShape) -> Hashable:
    """What a renamed column keeps: its position, type and nullability."""
    return (column.ordinal, column.type, column.nullable)


def _nullability(column: ColumnShape) -> str:
    return "nullable" if column.nullable else "not null"


def severity_counts(changes: Iterable[SchemaChange]) -> dict[str, int]:
    """Changes per severity, both keys always present."""
    counted = Counter(change.severity for change in changes)
    return {"breaking": counted[Severity.BREAKING], "nonBreaking": counted[Severity.NON_BREAKING]}


# -- notices -------------------------------------------------------------------------------------------------
NOTICE_CHANGES = 20
# Longer names and types are cut in a notice (the full diff has them whole).
NOTICE_TEXT = 120
# The changes part of an event stays under this many bytes of JSON (EventBridge takes 256 KB per entry).
NOTICE_BYTES = 64 * 1024


def notice(changes: Sequence[SchemaChange], limit: int = NOTICE_CHANGES, budget: int = NOTICE_BYTES) -> dict[str, Any]:
    """Counts by severity and the first changes, bounded in number and in bytes, for an event."""
    shown: list[dict[str, str | None]] = []
    size = 0
    for change in changes[:limit]:
        entry = {name: _cut(value) for name, value in change.to_dict().items()}
        size += len(json.dumps(entry, separators=(",", ":")).encode()) + 1  # escaped as the publisher escapes
        if size > budget:
            break
        shown.append(entry)
    return {"severityCounts": severity_counts(changes), "changeCount": len(changes), "changes": shown}


def _cut(value: str | None) -> str | None:
    return value if value is None or len(value) <= NOTICE_TEXT else value[: NOTICE_TEXT - 1] + "…"
