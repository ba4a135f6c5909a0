"""The catalog forms: values shown in their inputs, and values read back.

Prices show in major units ("65.00") and are read back as minor units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tillbook.errors import ValidationFailed
from tillbook.kernel.catalog.fields import is_whole_number
from tillbook.kernel.ledger.money import parse_major
from tillbook.web.pages.form_values import FormValues
from tillbook.web.templating import to_major

# Service timing fields that a blank input leaves to the tenant's policy.
POLICY_DEFAULTS = ("granularity_minutes", "min_notice_minutes", "max_advance_days")

# Display values: every form field as the text an input shows.


def service_display(service: Mapping[str, Any], currency: str) -> dict[str, Any]:
    """Return a service's fields as the edit form shows them."""
    return {
        "name": service["name"],
        "category": service["category"],
        "description": service["description"],
        "duration_minutes": str(service["duration_minutes"]),
        "price": to_major(service["price"], currency),
        "tax_rate": service["tax_rate"],
        "rebook_interval_days": str(service["rebook_interval_days"] or ""),
        "active": service["active"],
        "provider_ids": list(service["provider_ids"]),
        "consumes": {
            link["product_id"]: str(link["quantity"]) for link in service["consumes"]
        },
        "recommends": list(service["recommends"]),
        "kind": service["kind"],
        "capacity": str(service["capacity"]),
        "buffer_before_minutes": str(service["buffer_before_minutes"]),
        "buffer_after_minutes": str(service["buffer_after_minutes"]),
        "processing_after_minutes": _blank_none(service["processing_after_minutes"]),
        "processing_minutes": str(service["processing_minutes"] or ""),
        "granularity_minutes": _blank_none(service["granularity_minutes"]),
        "min_notice_minutes": _blank_none(service["min_notice_minutes"]),
        "max_advance_days": _blank_none(service["max_advance_days"]),
        "deposit": to_major(service["deposit"], currency),
        "online": service["online"],
        "resources": {
            item["resource_id"]: str(item["quantity"]) for item in service["resources"]
        },
        "overrides": {
            item["staff_id"]: {
                "duration_minutes": _blank_none(item["duration_minutes"]),
                "price": to_major(item["price"], currency),
            }
            for item in service["provider_overrides"]
        },
    }


def _blank_none(value: int | None) -> str:
    return "" if value is None else str(value)


def product_display(product: Mapping[str, Any], currency: str) -> dict[str, Any]:
    """Return a product's fields as the edit form shows them."""
    return {
        "name": product["name"],
        "sku": product["sku"],
        "price": to_major(product["price"], currency),
        "tax_rate": product["tax_rate"],
        "stock": str(product["stock"]),
        "low_stock_threshold": str(product["low_stock_threshold"]),
        "retail": product["retail"],
        "active": product["active"],
    }


def plan_display(plan: Mapping[str, Any], currency: str) -> dict[str, Any]:
    """Return a package plan's fields as the edit form shows them."""
    return {
        "name": plan["name"],
        "service_id": plan["service_id"],
        "sessions": str(plan["sessions"]),
        "price": to_major(plan["price"], currency),
        "valid_days": str(plan["valid_days"]),
        "active": plan["active"],
    }


def entered_display(
    form: FormValues,
    products: list[dict[str, Any]],
    resources: list[dict[str, Any]] | None = None,
    staff: list[dict[str, Any]] | None = None,
) -> dict:
    """Return what the user typed, for showing a rejected form again."""
    shown: dict[str, Any] = {name: form.raw(name) for name in form.form}
    for name in ("active", "retail", "online"):
        shown[name] = name in form.form
    shown["resources"] = {
        item["id"]: form.raw(f"resource-{item['id']}") for item in resources or []
    }
    shown["overrides"] = {
        member["id"]: {
            "duration_minutes": form.raw(f"override_duration-{member['id']}"),
            "price": form.raw(f"override_price-{member['id']}"),
        }
        for member in staff or []
    }
    shown["provider_ids"] = form.form.getall("provider_ids", [])
    shown["recommends"] = form.form.getall("recommends", [])
    shown["consumes"] = {
        product["id"]: form.raw(f"consumes-{product['id']}") for product in products
    }
    return shown


# Reading forms into kernel values.


def read_service(
    form: FormValues,
    digits: int,
    products: list[dict],
    resources: list[dict[str, Any]] | None = None,
    staff: list[dict[str, Any]] | None = None,
) -> None:
    """Convert the service form's fields into ``form.values``.

    Blank buffers and processing length are 0, blank capacity is 1, and a
    blank processing start, granularity, notice or advance is ``None``.
    """
    for name in ("name", "category", "description"):
        form.text(name)
    form.integer("duration_minutes")
    form.money("price", digits)
    if form.raw("tax_rate"):
        form.text("tax_rate")
    form.integer("rebook_interval_days", blank_is_none=True)
    form.checkbox("active")
    form.many("provider_ids")
    form.many("recommends")
    _read_timing(form, digits)
    _read_resources(form, resources or [])
    _read_overrides(form, digits, staff or [])
    consumes = []
    for product in products:
        quantity = form.raw(f"consumes-{product['id']}")
        if not quantity or quantity == "0":
            continue
        if not is_whole_number(quantity):
            form.errors["consumes"] = (
                f"the quantity of {product['name']} must be a whole number"
            )
            continue
        consumes.append({"product_id": product["id"], "quantity": int(quantity)})
    form.values["consumes"] = consumes


def _read_timing(form: FormValues, digits: int) -> None:
    if "kind" in form.form:
        form.text("kind")
    for name, blank in (
        ("capacity", 1),
        ("buffer_before_minutes", 0),
        ("buffer_after_minutes", 0),
        ("processing_minutes", 0),
    ):
        if form.raw(name):
            form.integer(name)
        elif name in form.form:
            form.values[name] = blank
    for name in ("processing_after_minutes", *POLICY_DEFAULTS):
        if name in form.form:
            form.integer(name, blank_is_none=True)
    if form.raw("deposit"):
        form.money("deposit", digits)
    elif "deposit" in form.form:
        form.values["deposit"] = 0
    if "online_shown" in form.form:
        form.checkbox("online")


def _read_resources(form: FormValues, resources: list[dict[str, Any]]) -> None:
    if not resources:
        return
    chosen = []
    for resource in resources:
        quantity = form.raw(f"resource-{resource['id']}")
        if not quantity or quantity == "0":
            continue
        if not is_whole_number(quantity):
            form.errors["resources"] = (
                f"the number of {resource['name']} must be a whole number"
            )
            continue
        chosen.append({"resource_id": resource["id"], "quantity": int(quantity)})
    form.values["resources"] = chosen


def _read_overrides(form: FormValues, digits: int, staff: list[dict[str, Any]]) -> None:
    """Read each ticked provider's own duration and price, when typed."""
    if not staff:
        return
    ticked = set(form.form.getall("provider_ids", []))
    overrides = []
    for member in staff:
        if member["id"] not in ticked:
            continue
        duration_text = form.raw(f"override_duration-{member['id']}")
        price_text = form.raw(f"override_price-{member['id']}")
        if not duration_text and not price_text:
            continue
        entry: dict[str, Any] = {
            "staff_id": member["id"],
            "duration_minutes": None,
            "price": None,
        }
        if duration_text:
            if not is_whole_number(duration_text):
                form.errors["provider_overrides"] = (
                    f"the duration for {member['name']} must be whole minutes"
                )
                continue
            entry["duration_minutes"] = int(duration_text)
        if price_text:
            try:
                entry["price"] = parse_major(price_text, digits, "provider_overrides")
            except ValidationFailed:
                form.errors["provider_overrides"] = (
                    f"the price for {member['name']} must be an amount such as 65.00"
                )
                continue
        overrides.append(entry)
    form.values["provider_overrides"] = overrides


def read_product(form: FormValues, digits: int, *, creating: bool) -> None:
    """Convert the product form's fields into ``form.values``."""
    form.text("name")
    form.text("sku")
    form.money("price", digits)
    if form.raw("tax_rate"):
        form.text("tax_rate")
    if creating:
        form.integer("stock")
    form.integer("low_stock_threshold")
    form.checkbox("retail")
    form.checkbox("active")


def read_plan(form: FormValues, digits: int) -> None:
    """Convert the package plan form's fields into ``form.values``."""
    form.text("name")
    form.text("service_id")
    form.integer("sessions")
    form.money("price", digits)
    form.integer("valid_days")
    form.checkbox("active")
