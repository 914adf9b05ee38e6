"""HS256 development tokens carrying the claims API Gateway's JWT authorizer would pass (sub, tenant_id, role)."""

from __future__ import annotations

import os
import time
from typing import Any

import jwt

from devserver.template import load

DEFAULT_DEV_SECRET = "local-dev-secret-not-for-production"  # noqa: S105  # documented dev default


def dev_secret() -> str:
    return os.environ.get("DS_DEV_JWT_SECRET", DEFAULT_DEV_SECRET)


def _issuer_and_audience() -> tuple[str, str]:
    defaults = load().parameter_defaults()
    return str(defaults["JwtIssuer"]), str(defaults["JwtAudience"]).split(",")[0]


def issue(tenant: str, role: str, subject: str | None = None, ttl_seconds: int = 8 * 3600, **claims: Any) -> str:
    issuer, audience = _issuer_and_audience()
    now = int(time.time())
    payload = {
        "iss": issuer,
        "aud": audience,
        "sub": subject or f"dev-{role}@{tenant}",
        "tenant_id": tenant,
        "role": role,
        "iat": now,
        "exp": now + ttl_seconds,
        **claims,
    }
    return jwt.encode(payload, dev_secret(), algorithm="HS256")


def verify(authorization: str | None) -> dict[str, str] | None:
    """Claims as API Gateway passes them (values as strings), or None where the authorizer would answer 401."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    issuer, audience = _issuer_and_audience()
    try:
        claims = jwt.decode(
            authorization[7:].strip(),
            dev_secret(),
            algorithms=["HS256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError:
        return None
    return {name: value if isinstance(value, str) else _stringify(value) for name, value in claims.items()}


def _stringify(value: Any) -> str:
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    return str(value)
