"""URL prefixes shared by route modules."""

from __future__ import annotations

# Tenant pages live under the path prefix; on a tenant's own host name
# (``{slug}.{base_domain}``) the prefix is added by ``HostTenantRewrite``.
TENANT = "/t/{slug:str}"
API = "/t/{slug:str}/api/v1"
STAFF = "/t/{slug:str}/staff"
