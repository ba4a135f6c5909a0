"""The mail outbox page lists a tenant's emails and shows one in a sandbox."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.test_reports_daily import member_token
from tests.support import TenantHandle, make_tenant
from tillbook.kernel.events.tables import MailMessage
from tillbook.tenancy.roles import Role

HTML_ACCEPT = {"Accept": "text/html"}


def add_mail(
    tenant: TenantHandle,
    subject: str,
    created_at: datetime,
    *,
    delivery: str = "outbox",
    body: str = "<p>Hello</p>",
    text: str = "Hello",
) -> uuid.UUID:
    row = MailMessage(
        to_address="client@example.com",
        subject=subject,
        html=body,
        text=text,
        kind="booking_confirmation",
        created_at=created_at,
        sent_at=created_at if delivery != "pending" else None,
        delivery=delivery,
    )
    tenant.run(tenant.scope.insert, row)
    return row.id  # type: ignore[no-any-return]


def get_page(tenant: TenantHandle, path: str, **headers: str) -> Any:
    merged = {**tenant.headers, **HTML_ACCEPT, **headers}
    return tenant.client.get(tenant.page(path), headers=merged)


def test_outbox_lists_newest_first(client: Any) -> None:
    tenant = make_tenant(client)
    # 30 June 2025 12:00 UTC is 13:00 in London (BST).
    noon = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
    add_mail(tenant, "Older confirmation", noon - timedelta(hours=2))
    add_mail(tenant, "Newer receipt", noon, delivery="pending")

    response = get_page(tenant, "/staff/outbox")

    assert response.status_code == 200
    page = response.text
    assert page.index("Newer receipt") < page.index("Older confirmation")
    assert "client@example.com" in page
    assert "booking_confirmation" in page
    assert "30 Jun 13:00" in page
    assert "Queued" in page
    assert "Kept in outbox" in page


def test_outbox_empty(client: Any) -> None:
    tenant = make_tenant(client)
    response = get_page(tenant, "/staff/outbox")

    assert response.status_code == 200
    assert 'id="outbox-empty"' in response.text


def test_outbox_pages(client: Any) -> None:
    tenant = make_tenant(client)
    start = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
    for number in range(51):
        add_mail(tenant, f"Mail number {number:02d}", start + timedelta(minutes=number))

    first = get_page(tenant, "/staff/outbox").text
    second = get_page(tenant, "/staff/outbox?page=2").text

    assert "Mail number 50" in first
    assert "Mail number 01" in first
    assert "Mail number 00" not in first
    assert 'id="older"' in first
    assert "Mail number 00" in second
    assert 'id="newer"' in second
    assert 'id="older"' not in second


def test_outbox_rejects_bad_page(client: Any) -> None:
    tenant = make_tenant(client)
    response = tenant.client.get(
        tenant.page("/staff/outbox?page=0"), headers=tenant.headers
    )

    assert response.status_code == 422


def test_outbox_detail_sandboxes_html(client: Any) -> None:
    tenant = make_tenant(client)
    body = '<h1 class="x">Your facial</h1><script>alert("hi")</script>'
    mail_id = add_mail(
        tenant,
        "Your booking",
        datetime(2025, 6, 30, 12, 0, tzinfo=UTC),
        body=body,
        text="Your facial is booked.",
    )

    response = get_page(tenant, f"/staff/outbox/{mail_id}")

    assert response.status_code == 200
    page = response.text
    frame = re.search(r"<iframe[^>]*>", page)
    assert frame is not None
    tag = frame.group(0)
    assert 'sandbox=""' in tag
    srcdoc = re.search(r'srcdoc="([^"]*)"', tag)
    assert srcdoc is not None
    assert html.unescape(srcdoc.group(1)) == body
    assert "<script>" not in page
    assert "Your facial is booked." in page
    assert "client@example.com" in page


def test_outbox_open_to_providers(client: Any) -> None:
    tenant = make_tenant(client)
    headers = member_token(tenant, Role.PROVIDER)
    response = get_page(tenant, "/staff/outbox", **headers)

    assert response.status_code == 200


def test_outbox_needs_sign_in(client: Any) -> None:
    tenant = make_tenant(client)
    response = client.get(
        tenant.page("/staff/outbox"), headers=HTML_ACCEPT, follow_redirects=False
    )

    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].startswith(f"/t/{tenant.slug}/staff/login")


def test_outbox_detail_other_tenant_404(client: Any) -> None:
    tenant = make_tenant(client)
    other = make_tenant(client)
    mail_id = add_mail(other, "Not yours", datetime(2025, 6, 30, 12, 0, tzinfo=UTC))

    response = get_page(tenant, f"/staff/outbox/{mail_id}")

    assert response.status_code == 404
    assert "Not yours" not in response.text


def test_outbox_detail_bad_id_404(client: Any) -> None:
    tenant = make_tenant(client)
    response = get_page(tenant, "/staff/outbox/not-a-uuid")

    assert response.status_code == 404
