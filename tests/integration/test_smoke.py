"""The app starts, a tenant can be made, and queued mail is delivered."""

from __future__ import annotations

from tests.support import make_tenant
from tillbook.jobs.broker import join_queues
from tillbook.kernel.events.mail import queue_mail
from tillbook.kernel.events.tables import MailMessage


def test_queued_mail_reaches_outbox(client) -> None:
    tenant = make_tenant(client)

    async def queue() -> None:
        from tillbook.db import write_transaction

        async with write_transaction():
            await queue_mail(
                tenant.scope,
                to="a@example.com",
                subject="Hi",
                html="<p>Hi</p>",
                text="Hi",
                kind="test",
            )

    tenant.run(queue)
    import time

    deadline = time.monotonic() + 5
    rows = []
    while time.monotonic() < deadline:
        join_queues()
        rows = tenant.run(lambda: tenant.scope.select(MailMessage))
        if rows and rows[0]["sent_at"] is not None:
            break
        time.sleep(0.05)
    assert rows[0]["delivery"] == "outbox"
