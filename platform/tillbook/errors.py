"""Domain exceptions. The web layer maps each one to an HTTP response once."""

from __future__ import annotations

from typing import Any


class TillbookError(Exception):
    """Base class; ``code`` is a stable machine-readable error code."""

    code = "error"
    status_code = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


class NotFound(TillbookError):
    """A row does not exist, or belongs to another tenant (the two look alike)."""

    code = "not_found"
    status_code = 404

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident} not found", kind=kind, id=ident)


class ValidationFailed(TillbookError):
    """Input was rejected; ``errors`` maps each field to what is wrong and the fix."""

    code = "validation_failed"
    status_code = 422

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors.items()))
        super().__init__(f"{first[0]}: {first[1]}", errors=errors)
        self.errors = errors


def invalid(field: str, message: str) -> ValidationFailed:
    """Build a one-field validation error."""
    return ValidationFailed({field: message})


class Conflict(TillbookError):
    """The request is valid but the state it needs has changed or is taken."""

    code = "conflict"
    status_code = 409


class SlotUnavailable(Conflict):
    """The provider is no longer free at the requested time."""

    code = "slot_unavailable"

    def __init__(self, staff_id: str, start: str) -> None:
        super().__init__(
            "slot no longer available: choose another time or provider",
            staff_id=staff_id,
            start=start,
        )


class PaymentDeclined(TillbookError):
    """A payment provider declined a charge; nothing was posted."""

    code = "payment_declined"
    status_code = 402


class NotAllowed(TillbookError):
    """The signed-in account's role does not allow the action."""

    code = "forbidden"
    status_code = 403


class NotAuthenticated(TillbookError):
    """No valid session or API token was presented."""

    code = "not_authenticated"
    status_code = 401
