"""The salon plugin's tables. Every row belongs to one tenant."""

from __future__ import annotations

from piccolo.columns import JSON, UUID, Boolean, Integer, Text, Timestamptz, Varchar

from tillbook import TenantTable

# Hair lengths a service variant can be priced for, shortest first.
HAIR_LENGTHS: tuple[tuple[str, str], ...] = (
    ("short", "Short"),
    ("medium", "Medium"),
    ("long", "Long"),
    ("extra_long", "Extra long"),
)


class SalonService(TenantTable, tablename="salon_service"):
    """The salon's settings for one kernel service (one row per service).

    A colour service has a processing gap: the stylist applies the colour for
    ``processing_after_minutes``, then the colour develops for
    ``processing_minutes`` while the stylist is free for another client.
    """

    service_id = UUID(index=True)
    colour = Boolean(default=False)
    processing_after_minutes = Integer(null=True, default=None)
    processing_minutes = Integer(null=True, default=None)
    rebook_weeks = Integer(null=True, default=None)


class SalonVariant(TenantTable, tablename="salon_variant"):
    """A service's duration and price (minor units) for one hair length."""

    service_id = UUID(index=True)
    hair_length = Varchar(length=12)
    duration_minutes = Integer()
    price = Integer()


class SalonFormula(TenantTable, tablename="salon_formula"):
    """A colour formula mixed for a client, as the stylist wrote it down."""

    client_id = UUID(index=True)
    staff_id = UUID(null=True, default=None)
    service_id = UUID(null=True, default=None)
    formula = Text()
    developer = Varchar(length=60, default="")
    processing_minutes = Integer(null=True, default=None)
    notes = Text(default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class SalonStylistCommission(TenantTable, tablename="salon_stylist_commission"):
    """A stylist's own commission, overriding the plugin settings.

    ``service_tiers`` is a tier list as the ``service_tiers`` setting takes
    it (empty means the setting's tiers); ``product_percent`` ``None`` means
    the setting's percent.
    """

    staff_id = UUID(index=True)
    service_tiers = JSON(default="[]")
    product_percent = Varchar(length=16, null=True, default=None)


class SalonCommissionSale(TenantTable, tablename="salon_commission_sale"):
    """A service line counted towards a stylist's monthly commission tier.

    ``month`` is ``YYYY-MM`` in the tenant's time zone; ``amount`` is the
    line's net revenue and ``commission`` what it earned, both in minor
    units. One row per line, so computing a line twice counts it once.
    """

    staff_id = UUID(index=True)
    line_id = UUID(index=True)
    month = Varchar(length=7)
    amount = Integer()
    commission = Integer()
    percent = Varchar(length=16)  # the tier percent applied, as text ("37.5")


TABLES = [
    SalonService,
    SalonVariant,
    SalonFormula,
    SalonStylistCommission,
    SalonCommissionSale,
]
