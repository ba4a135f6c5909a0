"""The salon plugin's settings, as the owner edits them on the settings page."""

from __future__ import annotations

from typing import Any

PLUGIN = "salon"

# Monthly service sales in minor units (pounds: 0 to 3,000, 3,000 to
# 6,000, and above), each with the percent the whole line earns once the
# stylist's sales so far this month reach the tier.
DEFAULT_TIERS: list[dict[str, Any]] = [
    {"from": 0, "to": 300_000, "percent": 35},
    {"from": 300_000, "to": 600_000, "percent": 40},
    {"from": 600_000, "to": None, "percent": 45},
]

SCHEMA: dict[str, dict[str, Any]] = {
    "service_tiers": {
        "type": "tiers",
        "label": "Service commission tiers",
        "description": (
            "By the stylist's service sales so far this month, in minor units; "
            "the tier reached applies to the whole service."
        ),
        "default": DEFAULT_TIERS,
    },
    "product_percent": {
        "type": "percent",
        "label": "Product commission (%)",
        "description": "Percent of the net price of products a stylist sells.",
        "default": 10,
    },
    "rebook_weeks": {
        "type": "integer",
        "label": "Usual rebooking interval (weeks)",
        "description": "Offered at checkout for services without their own interval.",
        "default": 6,
        "minimum": 1,
        "maximum": 52,
    },
    "colour_category": {
        "type": "text",
        "label": "Colour service category",
        "description": (
            "Services in this catalog category are colour services, with a "
            "processing gap and a formula record; leave empty to mark them "
            "one by one."
        ),
        "default": "Colour",
    },
    "colour_application_minutes": {
        "type": "minutes",
        "label": "Colour application (minutes)",
        "description": "Time the stylist applies colour before it processes.",
        "default": 30,
    },
    "colour_processing_minutes": {
        "type": "minutes",
        "label": "Colour processing (minutes)",
        "description": "Time colour develops while the stylist is free.",
        "default": 35,
    },
    "hair_length_required": {
        "type": "boolean",
        "label": "Ask for hair length",
        "description": "Require a hair length when a service is priced by length.",
        "default": True,
    },
}


def validate(settings: dict[str, Any]) -> dict[str, str]:
    """Check what the schema cannot: the processing gap fits a working day."""
    errors: dict[str, str] = {}
    application = settings.get("colour_application_minutes", 30)
    processing = settings.get("colour_processing_minutes", 35)
    if (
        isinstance(application, int)
        and isinstance(processing, int)
        and application + processing > 8 * 60
    ):
        errors["colour_processing_minutes"] = (
            "together with the application time must be at most 480 minutes"
        )
    return errors
