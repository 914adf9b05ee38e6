"""Writes Apache Hudi copy-on-write tables (table version 6, timeline layout 1) to S3 for the tests, without Spark.

hudi-rs (the `hudi` package) only reads, and no package ships sample tables, so this writes what Hudi's writers
write, as the format documents it: `.hoodie/hoodie.properties`, each commit's three instant files on the timeline
(`<instant>.commit.requested`, `.inflight`, and the completed `.commit` whose JSON metadata carries the writer's Avro
schema under `extraMetadata.schema` and the files written under `partitionToWriteStats`), a
`.hoodie_partition_metadata` file per partition, and parquet base files named `<fileId>_<writeToken>_<instant>`
holding the five `_hoodie_*` meta columns before the data columns. The tests read the result back with hudi-rs
itself (rows included), so a table this writes is one the real reader accepts.
"""

from __future__ import annotations

import io
import json
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

META = (
    "_hoodie_commit_time",
    "_hoodie_commit_seqno",
    "_hoodie_record_key",
    "_hoodie_partition_path",
    "_hoodie_file_name",
)
_AVRO = {pa.int64(): "long", pa.int32(): "int", pa.string(): "string", pa.float64(): "double", pa.bool_(): "boolean"}


def avro_schema(name: str, schema: pa.Schema) -> str:
    fields = [{"name": f.name, "type": ["null", _AVRO[f.type]], "default": None} for f in schema]
    return json.dumps({"type": "record", "name": f"{name}_record", "namespace": f"hoodie.{name}", "fields": fields})


@dataclass
class HudiTable:
    s3: Any  # a boto3 S3 client
    bucket: str
    path: str  # the table's base path in the bucket
    name: str
    record_key: str
    partition_field: str
    commits: list[str] = field(default_factory=list)

    def _put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=f"{self.path}/{key}", Body=body)

    def create(self) -> HudiTable:
        properties = {
            "hoodie.table.name": self.name,
            "hoodie.table.type": "COPY_ON_WRITE",
            "hoodie.table.version": "6",
            "hoodie.timeline.layout.version": "1",
            "hoodie.table.base.file.format": "PARQUET",
            "hoodie.table.recordkey.fields": self.record_key,
            "hoodie.table.partition.fields": self.partition_field,
            "hoodie.table.keygenerator.class": "org.apache.hudi.keygen.SimpleKeyGenerator",
            "hoodie.datasource.write.hive_style_partitioning": "true",
            "hoodie.populate.meta.fields": "true",
            "hoodie.archivelog.folder": "archived",
            "hoodie.table.timeline.timezone": "UTC",
            # Hudi's checksum of the table's identity: CRC32 of the database name (none) and the table name.
            "hoodie.table.checksum": str(zlib.crc32(self.name.encode())),
        }
        self._put(".hoodie/hoodie.properties", "".join(f"{k}={v}\n" for k, v in properties.items()).encode())
        return self

    def commit(self, rows: pa.Table, instant: str) -> None:
        """One insert commit: a base file per partition value, then the timeline's instant files."""
        stats: dict[str, list[dict[str, Any]]] = {}
        values = rows.column(self.partition_field).to_pylist()
        for value in sorted(set(values)):
            partition = f"{self.partition_field}={value}"
            part = rows.filter(pc.equal(rows.column(self.partition_field), value))
            file_id = f"{uuid.uuid4()}-0"
            file_name = f"{file_id}_0-1-0_{instant}.parquet"
            n = part.num_rows
            meta = {
                "_hoodie_commit_time": [instant] * n,
                "_hoodie_commit_seqno": [f"{instant}_0_{i}" for i in range(n)],
                "_hoodie_record_key": [str(k) for k in part.column(self.record_key).to_pylist()],
                "_hoodie_partition_path": [partition] * n,
                "_hoodie_file_name": [file_name] * n,
            }
            table = pa.table({**{k: pa.array(v, pa.string()) for k, v in meta.items()}, **_columns(part)})
            sink = io.BytesIO()
            pq.write_table(table, sink)
            body = sink.getvalue()
            self._put(f"{partition}/{file_name}", body)
            self._put(
                f"{partition}/.hoodie_partition_metadata",
                f"#partition metadata\ncommitTime={instant}\npartitionDepth=1\n".encode(),
            )
            stats[partition] = [
                {
                    "fileId": file_id,
                    "path": f"{partition}/{file_name}",
                    "prevCommit": "null",
                    "numWrites": n,
                    "numDeletes": 0,
                    "numUpdateWrites": 0,
                    "numInserts": n,
                    "totalWriteBytes": len(body),
                    "totalWriteErrors": 0,
                    "partitionPath": partition,
                    "fileSizeInBytes": len(body),
                }
            ]
        metadata = {
            "partitionToWriteStats": stats,
            "compacted": False,
            "extraMetadata": {"schema": avro_schema(self.name, rows.schema)},
            "operationType": "INSERT",
        }
        self._put(f".hoodie/{instant}.commit.requested", b"")
        self._put(f".hoodie/{instant}.inflight", b"")
        self._put(f".hoodie/{instant}.commit", json.dumps(metadata, indent=2).encode())
        self.commits.append(instant)


def _columns(table: pa.Table) -> Mapping[str, pa.ChunkedArray]:
    return {name: table.column(name) for name in table.column_names}
