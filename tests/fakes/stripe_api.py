"""A local stand-in for the parts of Stripe's HTTP API that Tillbook calls.

It serves on 127.0.0.1 (a free port) from a thread and speaks Stripe's wire
format: form-encoded request bodies with bracketed keys, JSON responses,
``Authorization: Bearer <secret key>``, and the ``Idempotency-Key`` header,
whose first response is replayed for a repeat with the same parameters and
which is rejected (400, ``idempotency_error``) when reused with others.

Endpoints: ``POST /v1/customers``, ``POST /v1/payment_methods/{id}/attach``,
``POST /v1/payment_intents`` (confirmed off-session charges) and
``POST /v1/refunds``. Payment methods follow Stripe's test tokens.
``pm_card_visa``, ``pm_card_mastercard`` and ``pm_card_amex`` succeed.
``pm_card_chargeDeclined`` is declined (402 ``card_error``) on attach and on
charge, and ``pm_card_chargeCustomerFail`` attaches but its charges are
declined.
Every request is kept in ``requests`` for assertions.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

CARDS = {
    "pm_card_visa": ("visa", "4242"),
    "pm_card_mastercard": ("mastercard", "4444"),
    "pm_card_amex": ("amex", "8431"),
    "pm_card_chargeDeclined": ("visa", "0002"),
    "pm_card_chargeCustomerFail": ("visa", "0341"),
}
DECLINED_ON_ATTACH = {"pm_card_chargeDeclined"}
DECLINED_ON_CHARGE = {"pm_card_chargeDeclined", "pm_card_chargeCustomerFail"}


@dataclass
class RecordedRequest:
    """One request the fake received, with its form parameters decoded."""

    method: str
    path: str
    params: dict[str, str]
    idempotency_key: str | None
    authorization: str
    status: int = 0
    replayed: bool = False


@dataclass
class _State:
    secret_key: str
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    attached: dict[str, str] = field(default_factory=dict)  # pm -> customer
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[tuple[str, str], tuple[str, int, dict[str, Any]]] = field(
        default_factory=dict
    )
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _error(status: int, kind: str, message: str, **extra: Any) -> tuple[int, dict]:
    return status, {"error": {"type": kind, "message": message, **extra}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; ``requests`` records everything instead."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        params = dict(parse_qsl(body, keep_blank_values=True))
        state = self.server.state
        record = RecordedRequest(
            method="POST",
            path=self.path,
            params=params,
            idempotency_key=self.headers.get("Idempotency-Key"),
            authorization=self.headers.get("Authorization", ""),
        )
        with state.lock:
            state.requests.append(record)
            status, payload, replayed = self._respond(state, record)
            record.status = status
            record.replayed = replayed
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", _new_id("req"))
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        self.end_headers()
        self.wfile.write(data)

    def _respond(
        self, state: _State, record: RecordedRequest
    ) -> tuple[int, dict[str, Any], bool]:
        if record.authorization != f"Bearer {state.secret_key}":
            status, payload = _error(
                401, "invalid_request_error", "Invalid API Key provided"
            )
            return status, payload, False
        fingerprint = json.dumps([record.path, record.params], sort_keys=True)
        key = record.idempotency_key
        if key is not None and (record.path, key) in state.idempotent:
            seen, status, payload = state.idempotent[(record.path, key)]
            if seen != fingerprint:
                status, payload = _error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the "
                    "same parameters they were first used with.",
                )
                return status, payload, False
            return status, payload, True
        status, payload = self._route(state, record)
        if key is not None:
            state.idempotent[(record.path, key)] = (fingerprint, status, payload)
        return status, payload, False

    def _route(self, state: _State, record: RecordedRequest) -> tuple[int, dict]:
        parts = record.path.split("?")[0].strip("/").split("/")
        if parts == ["v1", "customers"]:
            return _create_customer(state, record.params)
        if len(parts) == 4 and parts[:2] == ["v1", "payment_methods"]:
            if parts[3] == "attach":
                return _attach(state, parts[2], record.params)
        if parts == ["v1", "payment_intents"]:
            return _create_intent(state, record.params)
        if parts == ["v1", "refunds"]:
            return _create_refund(state, record.params)
        return _error(
            404, "invalid_request_error", f"Unrecognized request URL ({record.path})"
        )


def _create_customer(state: _State, params: dict[str, str]) -> tuple[int, dict]:
    customer_id = _new_id("cus")
    customer = {
        "id": customer_id,
        "object": "customer",
        "email": params.get("email"),
        "name": params.get("name"),
    }
    state.customers[customer_id] = customer
    return 200, customer


def _payment_method(pm: str, customer: str | None) -> dict[str, Any]:
    brand, last4 = CARDS[pm]
    return {
        "id": pm,
        "object": "payment_method",
        "type": "card",
        "customer": customer,
        "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2034},
    }


def _declined(
    message: str = "Your card was declined.", **extra: Any
) -> tuple[int, dict]:
    return _error(
        402,
        "card_error",
        message,
        code="card_declined",
        decline_code="generic_decline",
        **extra,
    )


def _attach(state: _State, pm: str, params: dict[str, str]) -> tuple[int, dict]:
    customer = params.get("customer", "")
    if pm not in CARDS:
        return _error(
            400,
            "invalid_request_error",
            f"No such PaymentMethod: '{pm}'",
            code="resource_missing",
            param="payment_method",
        )
    if customer not in state.customers:
        return _error(
            400,
            "invalid_request_error",
            f"No such customer: '{customer}'",
            code="resource_missing",
            param="customer",
        )
    if pm in DECLINED_ON_ATTACH:
        return _declined()
    state.attached[pm] = customer
    return 200, _payment_method(pm, customer)


def _create_intent(state: _State, params: dict[str, str]) -> tuple[int, dict]:
    amount = params.get("amount", "")
    if not amount.isdigit() or int(amount) < 1:
        return _error(
            400, "invalid_request_error", "Invalid integer: amount", param="amount"
        )
    if not params.get("currency"):
        return _error(400, "invalid_request_error", "Missing required param: currency")
    pm = params.get("payment_method", "")
    customer = params.get("customer", "")
    if params.get("confirm") != "true" or params.get("off_session") != "true":
        return _error(400, "invalid_request_error", "expected confirm and off_session")
    if state.attached.get(pm) != customer:
        return _error(
            400,
            "invalid_request_error",
            f"The PaymentMethod {pm} does not belong to the Customer {customer}.",
            param="payment_method",
        )
    intent_id = _new_id("pi")
    intent: dict[str, Any] = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": int(amount),
        "amount_received": int(amount),
        "currency": params["currency"],
        "customer": customer,
        "payment_method": pm,
        "description": params.get("description"),
        "status": "succeeded",
        "latest_charge": _new_id("ch"),
        "refunded": 0,
    }
    if pm in DECLINED_ON_CHARGE:
        intent.update(status="requires_payment_method", amount_received=0)
        state.intents[intent_id] = intent
        return _declined(payment_intent=intent)
    state.intents[intent_id] = intent
    return 200, intent


def _create_refund(state: _State, params: dict[str, str]) -> tuple[int, dict]:
    intent = state.intents.get(params.get("payment_intent", ""))
    if intent is None or intent["status"] != "succeeded":
        return _error(
            400,
            "invalid_request_error",
            "No such payment_intent, or it has no successful charge",
            param="payment_intent",
        )
    amount = int(params.get("amount") or intent["amount"] - intent["refunded"])
    if amount < 1 or intent["refunded"] + amount > intent["amount"]:
        return _error(
            400,
            "invalid_request_error",
            "Refund amount is greater than the unrefunded amount",
            code="amount_too_large",
        )
    intent["refunded"] += amount
    refund = {
        "id": _new_id("re"),
        "object": "refund",
        "amount": amount,
        "payment_intent": intent["id"],
        "status": "succeeded",
    }
    state.refunds[refund["id"]] = refund
    return 200, refund


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class FakeStripe:
    """Start with ``start()`` or a ``with`` block; ``url`` is the ``api_base``."""

    def __init__(self, secret_key: str = "sk_test_tillbook_fake") -> None:
        self.secret_key = secret_key
        self.state = _State(secret_key=secret_key)
        self._server = _Server(self.state)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-stripe", daemon=True
        )

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.state.requests

    @property
    def intents(self) -> dict[str, dict[str, Any]]:
        return self.state.intents

    @property
    def refunds(self) -> dict[str, dict[str, Any]]:
        return self.state.refunds

    def settings(self) -> dict[str, Any]:
        """Return plugin settings that point the Stripe plugin at this server."""
        return {
            "secret_key": self.secret_key,
            "api_base": self.url,
            "max_network_retries": 0,
        }

    def calls_to(self, path: str) -> list[RecordedRequest]:
        """Return the recorded requests whose path starts with ``path``."""
        return [request for request in self.requests if request.path.startswith(path)]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeStripe:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
