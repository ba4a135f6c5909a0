"""Tenants, staff accounts, memberships and API tokens."""

from __future__ import annotations

import uuid

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from tillbook.db.base import TenantTable


class Tenant(Table):
    """A business on the platform, with its branding and money settings."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    slug = Varchar(length=63, unique=True)
    name = Varchar(length=200)
    time_zone = Varchar(length=64)
    currency = Varchar(length=3)
    brand_colour = Varchar(length=7, default="#5b6b5a")
    logo_url = Text(default="")
    host = Varchar(length=253, null=True, default=None, unique=True)
    prices_include_tax = Boolean(default=False)
    loyalty_min_visits = Integer(default=0)
    loyalty_percent = Integer(default=0)
    settings = JSON(default="{}")
    created_at = Timestamptz()


class Account(Table):
    """A person who signs in to the staff side; may belong to several tenants."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    email = Varchar(length=254, unique=True)
    name = Varchar(length=200)
    password_hash = Text()
    created_at = Timestamptz()


class Membership(TenantTable):
    """An account's role in one tenant, and the staff member it acts as."""

    account_id = UUID(index=True)
    role = Varchar(length=20)
    staff_id = UUID(null=True, default=None)


class ApiToken(TenantTable):
    """A bearer token for the JSON API; only its SHA-256 digest is stored."""

    account_id = UUID()
    name = Varchar(length=100)
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=12)
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    revoked = Boolean(default=False)


class PluginSetting(TenantTable):
    """Whether a plugin is enabled for a tenant, with its validated settings."""

    plugin = Varchar(length=100)
    enabled = Boolean(default=False)
    settings = JSON(default="{}")
