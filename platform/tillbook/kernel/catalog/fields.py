"""Checking catalog input field by field, so one 422 lists every bad field.

Callers pass loosely typed values (decoded JSON, or form values the page layer
has already converted) and get back clean, typed values or a
``ValidationFailed`` whose ``errors`` name each bad field with the fix.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tillbook.errors import ValidationFailed

# In minor units: far above any price, and far below a 64-bit overflow.
MAX_MONEY = 10**12


def is_whole_number(text: str, *, signed: bool = False) -> bool:
    """Return whether ``int(text)`` reads ``text`` as ASCII digits.

    ``str.isdigit`` alone also accepts digits such as "²" that ``int``
    rejects. With ``signed`` one leading minus sign is allowed.
    """
    if signed and text.startswith("-"):
        text = text[1:]
    return text.isascii() and text.isdigit()


class FieldReader:
    """Read named fields from ``values``, collecting one error per bad field.

    With ``partial=True`` (an update) absent fields are left out of
    ``cleaned``. Otherwise they take their defaults, and a required field
    that is absent is an error. Keys not in ``allowed`` are errors too.
    """

    def __init__(
        self, values: Mapping[str, Any], allowed: Iterable[str], *, partial: bool
    ) -> None:
        self.values = values
        self.partial = partial
        self.errors: dict[str, str] = {}
        self.cleaned: dict[str, Any] = {}
        known = set(allowed)
        for key in values:
            if key not in known:
                names = ", ".join(sorted(known))
                self.errors[str(key)] = f"is not a known field; use one of: {names}"

    def _present(self, name: str, required: bool, default: Any) -> bool:
        """Tell whether ``name`` was given, else apply its default or error."""
        if name in self.values:
            return True
        if self.partial:
            return False
        if required:
            self.errors[name] = "is required"
        else:
            self.cleaned[name] = default
        return False

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        max_length: int = 200,
        default: str = "",
    ) -> None:
        """Read a string and strip it. A required field may not be empty."""
        if not self._present(name, required, default):
            return
        value = self.values[name]
        if value is None and not required:
            value = ""
        if not isinstance(value, str):
            self.errors[name] = "must be a string"
            return
        value = value.strip()
        if required and not value:
            self.errors[name] = "is required and may not be empty"
        elif len(value) > max_length:
            self.errors[name] = f"is longer than {max_length} characters"
        else:
            self.cleaned[name] = value

    def integer(
        self,
        name: str,
        *,
        minimum: int,
        maximum: int | None = None,
        required: bool = False,
        nullable: bool = False,
        default: int | None = None,
    ) -> None:
        """Read a whole number within ``minimum`` and ``maximum`` (inclusive)."""
        if not self._present(name, required, default):
            return
        value = self.values[name]
        if value is None and nullable:
            self.cleaned[name] = None
            return
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors[name] = "must be a whole number"
            return
        if value < minimum:
            self.errors[name] = f"must be at least {minimum}, not {value}"
        elif maximum is not None and value > maximum:
            self.errors[name] = f"must be at most {maximum}, not {value}"
        else:
            self.cleaned[name] = value

    def money(self, name: str, *, required: bool = False, default: int = 0) -> None:
        """Read an amount in minor units, zero or more (1250 is 12.50 in GBP)."""
        if not self._present(name, required, default):
            return
        value = self.values[name]
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors[name] = (
                "must be a whole number of minor units, such as 1250 for 12.50"
            )
        elif value < 0:
            self.errors[name] = f"must be zero or more, not {value}"
        elif value > MAX_MONEY:
            self.errors[name] = f"must be at most {MAX_MONEY} minor units"
        else:
            self.cleaned[name] = value

    def tax_rate(self, name: str, *, default: str = "0") -> None:
        """Read a tax rate in percent, 0 to 100 with up to 3 decimals, as a string."""
        if not self._present(name, False, default):
            return
        rate = parse_tax_rate(self.values[name])
        if rate is None:
            self.errors[name] = (
                "must be a percentage from 0 to 100 with at most 3 decimals, "
                'such as "20" or "8.875"'
            )
        else:
            self.cleaned[name] = rate

    def boolean(self, name: str, *, default: bool = True) -> None:
        """Read ``true`` or ``false``."""
        if not self._present(name, False, default):
            return
        value = self.values[name]
        if not isinstance(value, bool):
            self.errors[name] = "must be true or false"
        else:
            self.cleaned[name] = value

    def uuid_value(self, name: str, *, required: bool = False) -> None:
        """Read one id."""
        if not self._present(name, required, None):
            return
        parsed = parse_uuid(self.values[name])
        if parsed is None:
            self.errors[name] = "must be an id such as 3f2b1c4e-…"
        else:
            self.cleaned[name] = parsed

    def uuid_list(self, name: str) -> None:
        """Read a list of ids, dropping repeats but keeping the order."""
        if not self._present(name, False, []):
            return
        value = self.values[name]
        if value is None:
            value = []
        if not isinstance(value, list):
            self.errors[name] = "must be a list of ids"
            return
        ids: list[uuid.UUID] = []
        for item in value:
            parsed = parse_uuid(item)
            if parsed is None:
                self.errors[name] = f"contains {item!r}, which is not an id"
                return
            if parsed not in ids:
                ids.append(parsed)
        self.cleaned[name] = ids

    def finish(self) -> dict[str, Any]:
        """Return the clean values, or raise ValidationFailed naming each bad field."""
        if self.errors:
            raise ValidationFailed(self.errors)
        return self.cleaned


def parse_uuid(value: Any) -> uuid.UUID | None:
    """Return ``value`` as a UUID, or ``None`` when it is not one."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def parse_tax_rate(value: Any) -> str | None:
    """Return a tax rate as a normalised decimal string, or ``None`` if invalid.

    Accepts strings and whole numbers. "8.8750" becomes "8.875", and "20.0"
    becomes "20".
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    try:
        rate = Decimal(value.strip())
    except InvalidOperation:
        return None
    if not rate.is_finite() or rate < 0 or rate > 100:
        return None
    normal = rate.normalize()
    exponent = normal.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:
        return None
    return format(normal, "f")
