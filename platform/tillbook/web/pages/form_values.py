"""Turning HTML form fields into the typed values the kernel validates.

Browsers send every field as text: prices in major units ("12.50"), numbers
as digits, and checkboxes only when ticked. ``FormValues`` converts them and
keeps one message per field it cannot convert, in the same shape as the
kernel's ``ValidationFailed.errors``, so a page can show both together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.datastructures import FormMultiDict, UploadFile

from tillbook.errors import ValidationFailed
from tillbook.kernel.ledger.money import parse_major


class FormValues:
    """Typed values read from one submitted form, and conversion errors."""

    def __init__(self, form: FormMultiDict) -> None:
        self.form = form
        self.values: dict[str, Any] = {}
        self.errors: dict[str, str] = {}

    def raw(self, name: str) -> str:
        """Return a field's text, stripped, or "" for an absent field or a file."""
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def secret(self, name: str) -> str:
        """Return a password field exactly as typed (no stripping)."""
        value = self.form.get(name)
        return value if isinstance(value, str) else ""

    def text(self, name: str) -> None:
        """Copy a text field as it is."""
        self.values[name] = self.raw(name)

    def integer(self, name: str, *, blank_is_none: bool = False) -> None:
        """Read a whole number. A blank field is ``None`` or left out."""
        text = self.raw(name)
        if not text:
            if blank_is_none:
                self.values[name] = None
            return
        try:
            self.values[name] = int(text)
        except ValueError:
            self.errors[name] = f"{text!r} is not a whole number"

    def money(self, name: str, digits: int) -> None:
        """Read an amount in major units ("12.50") as minor units (1250).

        Uses the till's strict parser, so "12,50", "1e3" and full-width digits
        are rejected instead of being read as another amount.
        """
        try:
            amount = parse_major(self.raw(name), digits, name)
        except ValidationFailed as exc:
            self.errors[name] = exc.errors[name]
            return
        if amount is not None:
            self.values[name] = amount

    def checkbox(self, name: str) -> None:
        """Read a checkbox: ticked when the form sent the field at all."""
        self.values[name] = name in self.form

    def many(self, name: str) -> None:
        """Read every value of a repeated field (ticked checkboxes of one name)."""
        self.values[name] = [v for v in self.form.getall(name, []) if v]

    def upload(self, name: str) -> UploadFile | None:
        """Return an uploaded file, or ``None`` when the input was left empty."""
        value = self.form.get(name)
        if isinstance(value, UploadFile) and value.filename:
            return value
        return None

    async def submit(
        self,
        validate: Callable[[dict[str, Any]], object],
        action: Callable[[dict[str, Any]], Any],
    ) -> Any:
        """Run ``action`` on the values, or raise every field error at once.

        When some fields could not be converted, ``validate`` (a kernel
        ``clean_*`` function) still checks the others so the page can show
        all problems in one go. Conversion messages win for the same field.
        """
        if not self.errors:
            return await action(self.values)
        errors = dict(self.errors)
        try:
            validate(self.values)
        except ValidationFailed as exc:
            for field, message in exc.errors.items():
                errors.setdefault(field, message)
        raise ValidationFailed(errors)
