"""The catalog forms: values shown in their inputs, and values read back.

Prices show in major units ("65.00") and are read back as minor units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tillbook.web.pages.form_values import FormValues
from tillbook.web.templating import to_major

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
    }


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


def entered_display(form: FormValues, products: list[dict[str, Any]]) -> dict:
    """Return what the user typed, for showing a rejected form again."""
    shown: dict[str, Any] = {name: form.raw(name) for name in form.form}
    for name in ("active", "retail"):
        shown[name] = name in form.form
    shown["provider_ids"] = form.form.getall("provider_ids", [])
    shown["recommends"] = form.form.getall("recommends", [])
    shown["consumes"] = {
        product["id"]: form.raw(f"consumes-{product['id']}") for product in products
    }
    return shown


# Reading forms into kernel values.


def read_service(form: FormValues, digits: int, products: list[dict]) -> None:
    """Convert the service form's fields into ``form.values``."""
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
    consumes = []
    for product in products:
        quantity = form.raw(f"consumes-{product['id']}")
        if not quantity or quantity == "0":
            continue
        if not quantity.isdigit():
            form.errors["consumes"] = (
                f"the quantity of {product['name']} must be a whole number"
            )
            continue
        consumes.append({"product_id": product["id"], "quantity": int(quantity)})
    form.values["consumes"] = consumes


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
