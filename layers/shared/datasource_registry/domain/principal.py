"""Who is calling: the subject, tenant and role taken from the verified token, and what each role may do."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from datasource_registry.domain.errors import Forbidden
from datasource_registry.domain.types import Role


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant_id: str
    role: Role
    request_id: str | None = None  # API Gateway's request id: revisions and the audit trail name it

    def require_write(self) -> None:
        """003's role table: GET needs viewer; POST, PUT, PATCH and DELETE need editor (admin includes editor)."""
        if self.role not in (Role.EDITOR, Role.ADMIN):
            raise Forbidden(f"The {self.role.value} role may read but not change data sources.")


# The caller of the request being served (set by the endpoint decorator), so the audit trail can name who made
# the registry read a secret; None outside a request (the scheduled refresh).
CALLER: ContextVar[Principal | None] = ContextVar("caller", default=None)
