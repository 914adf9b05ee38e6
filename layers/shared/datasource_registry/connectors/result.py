"""The outcome of a connection test: ordered stages with timings, and a stable error code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Stage:
    name: str  # "tunnel", "resolve", "connect", "authenticate" or "metadata"
    ok: bool
    duration_ms: float
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "durationMs": round(self.duration_ms, 1),
            "error": self.error,
        }


@dataclass(frozen=True)
class ConnectionTestResult:
    success: bool
    stages: list[Stage]
    duration_ms: float
    error_code: str | None = None
    error: str | None = None
    server_version: str | None = None
    ssh_host_key_fingerprint: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "stages": [s.to_dict() for s in self.stages],
            "durationMs": round(self.duration_ms, 1),
            "errorCode": self.error_code,
            "error": self.error,
            "serverVersion": self.server_version,
            "sshHostKeyFingerprint": self.ssh_host_key_fingerprint,
            "details": self.details,
        }
