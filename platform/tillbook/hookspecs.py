"""Every hook a Tillbook plugin may implement.

A plugin is a module registered in the ``tillbook`` entry-point group. It
implements hooks by decorating functions with ``tillbook.hookimpl``. A
plugin's hooks run for a tenant only while the plugin is enabled for it,
because each request calls hooks through a pluggy subset caller that leaves
the other plugins out.

Unless a spec says otherwise, pluggy calls every enabled implementation and
returns their non-``None`` results as a list, most recently registered first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from piccolo.table import Table

    from tillbook.payments import PaymentProvider

hookspec = pluggy.HookspecMarker("tillbook")


@hookspec
def tillbook_tables() -> list[type[Table]]:
    """Return the piccolo tables the plugin owns.

    Called once at start-up to bind the tables to the configured database.
    Results from all plugins are concatenated. Every table must carry a
    ``tenant_id`` column and be read through a ``TenantScope``.
    """


@hookspec
def tillbook_payment_provider() -> PaymentProvider | None:
    """Return the plugin's payment provider, or ``None``.

    Called when the till lists tenders and when it charges or refunds a card.
    Results from all enabled plugins are collected; the till offers each
    provider whose ``is_configured`` accepts the tenant's plugin settings.
    """


@hookspec
def tillbook_validate_settings(plugin: str, settings: dict[str, Any]) -> dict[str, str]:
    """Check settings an owner submits for ``plugin``.

    Called before the settings are stored. Return a mapping from setting name
    to an error message (empty when valid); only the named plugin should
    return errors. All results are merged, and any error rejects the whole change
    with a 422 that names the setting.
    """


@hookspec
def tillbook_checkout_prompts(
    client: dict[str, Any] | None, appointment: dict[str, Any] | None
) -> list[str]:
    """Return reminders shown to staff on the checkout screen.

    Called when a ticket is opened from an appointment. ``client`` and
    ``appointment`` are the rows as dictionaries (either may be ``None`` for a
    walk-in sale). All results are concatenated after the kernel's own prompts
    (the client's note and preferences).
    """


@hookspec
def tillbook_receipt_sections(ticket: dict[str, Any]) -> list[str]:
    """Return extra HTML sections for a receipt.

    Called when a receipt is rendered, with the closed ticket as a dictionary
    including its ``lines``. The HTML must be escaped by the plugin. All
    results are appended, in plugin order, after the kernel's sections.
    """
