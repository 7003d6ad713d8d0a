"""Authentication (API keys and OAuth2 client-credentials tokens) and role checks for every service.

Callers send ``Authorization: Bearer <credential>`` where the credential is either an API key
(``cfk_<id>_<secret>``) or an access token obtained from ``POST /oauth/token`` with the key id and
secret as client id and client secret. Tokens are HS256 JWTs carrying tenant and role, so services
verify them without a directory lookup.
"""

from __future__ import annotations

import base64
import hmac
import time
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, Form, Header, Request
from pydantic import BaseModel, SecretStr

from claimflow_kit.config import ServiceSettings
from claimflow_kit.context import tenant_id_var
from claimflow_kit.db import Database
from claimflow_kit.directory import Directory, Role, split_token
from claimflow_kit.errors import NotAuthenticated, OpsDisabled, PermissionDenied

AUDIENCE = "claimflow-api"
_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: which tenant, which role, which credential."""

    tenant_id: str
    role: Role
    client_id: str

    def allows(self, *roles: Role) -> bool:
        """True when the caller has one of ``roles`` (admin has them all)."""
        return self.role is Role.ADMIN or self.role in roles


class Authenticator:
    """Verifies API keys against the directory (with a short cache) and signs/verifies access tokens."""

    def __init__(self, settings: ServiceSettings, directory: Database) -> None:
        self.settings = settings
        self.directory = directory
        self._cache: dict[str, tuple[float, Principal]] = {}

    async def client_credentials(self, client_id: str, client_secret: str) -> Principal:
        """The principal of a key id + secret pair; raises NotAuthenticated when they do not match."""
        cache_key = f"{client_id}:{client_secret}"
        cached = self._cache.get(cache_key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        async with self.directory.transaction() as session:
            key = await Directory(session).verify(client_id, client_secret)
        if key is None:
            raise NotAuthenticated("invalid credentials")
        principal = Principal(tenant_id=key.tenant_id, role=Role(key.role), client_id=key.id)
        self._cache[cache_key] = (time.monotonic() + _CACHE_SECONDS, principal)
        return principal

    def issue_token(self, principal: Principal) -> tuple[str, int]:
        """A signed access token for ``principal`` and its lifetime in seconds."""
        now = int(time.time())
        ttl = self.settings.access_token_ttl_seconds
        claims = {
            "iss": self.settings.jwt_issuer,
            "aud": AUDIENCE,
            "sub": principal.client_id,
            "tenant": principal.tenant_id,
            "role": principal.role.value,
            "iat": now,
            "exp": now + ttl,
        }
        token = jwt.encode(claims, self.settings.jwt_secret.get_secret_value(), algorithm="HS256")
        return token, ttl

    def verify_token(self, token: str) -> Principal:
        """The principal of a valid access token; raises NotAuthenticated otherwise."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.settings.jwt_secret.get_secret_value(),
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=self.settings.jwt_issuer,
                options={"require": ["exp", "sub", "aud", "iss"]},
            )
            return Principal(tenant_id=str(claims["tenant"]), role=Role(claims["role"]), client_id=str(claims["sub"]))
        except (jwt.PyJWTError, KeyError, ValueError):
            raise NotAuthenticated("invalid or expired access token") from None

    async def authenticate(self, credential: str) -> Principal:
        """The principal of a bearer credential (API key or access token)."""
        parts = split_token(credential)
        if parts is not None:
            return await self.client_credentials(*parts)
        return self.verify_token(credential)


def _authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.services.authenticator
    return authenticator


async def current_principal(
    request: Request, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Principal:
    """FastAPI dependency: the authenticated caller, or 401."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise NotAuthenticated("missing bearer credentials (API key or access token)")
    principal = await _authenticator(request).authenticate(authorization[7:].strip())
    tenant_id_var.set(principal.tenant_id)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Any:
    """FastAPI dependency factory: the caller, if their role is one of ``roles`` (or admin), else 403."""

    async def dependency(principal: PrincipalDep) -> Principal:
        if not principal.allows(*roles):
            allowed = ", ".join(r.value for r in roles)
            raise PermissionDenied(f"role {principal.role.value} may not do this (needs one of: {allowed})")
        return principal

    return Depends(dependency)


OPS_CLIENT_ID = "installation-ops"
"""Actor recorded in audit entries of reads made with the installation-level ops token."""


def verify_ops_token(expected: SecretStr | None, authorization: str | None) -> None:
    """Accept only ``Bearer <the installation's ops token>``: 403 when none is configured, 401 otherwise."""
    if expected is None or not expected.get_secret_value():
        raise OpsDisabled("the ops endpoints are disabled: no ops token is configured (set CLAIMFLOW_OPS_TOKEN)")
    if not authorization or not authorization.lower().startswith("bearer "):
        raise NotAuthenticated("missing bearer ops token")
    presented = authorization[7:].strip().encode()
    if not hmac.compare_digest(presented, expected.get_secret_value().encode()):
        raise NotAuthenticated("invalid ops token")


async def require_ops_token(
    request: Request, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> None:
    """FastAPI dependency of installation-level ``/ops/*`` routes: the caller holds the ops token."""
    settings: ServiceSettings = request.app.state.services.settings
    verify_ops_token(settings.ops_token, authorization)


OpsAccess = Depends(require_ops_token)
"""Route dependency (``dependencies=[OpsAccess]``) for installation-level ops endpoints."""


def ops_principal(tenant_id: str) -> Principal:
    """Who an installation-level ops read is recorded as, in the audit log of ``tenant_id``."""
    return Principal(tenant_id=tenant_id, role=Role.OPS, client_id=OPS_CLIENT_ID)


class TokenResponse(BaseModel):
    """OAuth2 token response (RFC 6749 section 5.1)."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type name, not a secret
    expires_in: int


token_router = APIRouter(tags=["auth"])


@token_router.post("/oauth/token", response_model=TokenResponse)
async def issue_access_token(
    request: Request,
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> TokenResponse:
    """OAuth2 client-credentials grant: client id/secret (form or HTTP Basic) for an access token."""
    if grant_type != "client_credentials":
        raise NotAuthenticated("only grant_type=client_credentials is supported")
    if authorization and authorization.lower().startswith("basic "):
        try:
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except ValueError:
            raise NotAuthenticated("malformed Basic credentials") from None
    if not client_id or not client_secret:
        raise NotAuthenticated("client_id and client_secret are required")
    authenticator = _authenticator(request)
    principal = await authenticator.client_credentials(client_id, client_secret)
    token, ttl = authenticator.issue_token(principal)
    return TokenResponse(access_token=token, expires_in=ttl)
