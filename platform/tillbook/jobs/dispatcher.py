"""Publishing outbox events to live channels and enqueueing their jobs."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from litestar.channels import ChannelsPlugin

from tillbook.db.base import utcnow
from tillbook.kernel.events.tables import OutboxEvent
from tillbook.tenancy.scope import SystemScope

logger = logging.getLogger("tillbook.jobs.dispatcher")

POLL_SECONDS = 0.2
BATCH = 100


def tenant_channel(tenant_id: Any) -> str:
    """Return the channel on which a tenant's live events are published."""
    return f"tenant:{tenant_id}"


class OutboxDispatcher:
    """Move committed outbox events to channels and jobs, each exactly once.

    Several server processes may run a dispatcher against one database: a row
    is claimed by the conditional update that sets ``dispatched_at``, so only
    one process handles it. This reads across tenants on purpose: the outbox
    is a platform queue, and each event goes only to its own tenant's channel.
    """

    def __init__(self, channels: ChannelsPlugin | None) -> None:
        self.channels = channels
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._system = SystemScope()

    async def start(self) -> None:
        from tillbook.jobs import runtime

        runtime.use_loop(asyncio.get_running_loop())
        self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        from tillbook.jobs import runtime

        runtime.use_loop(None)

    def kick(self) -> None:
        """Dispatch now rather than at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                while await self.dispatch_batch():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("outbox dispatch failed; retrying")
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            except TimeoutError:
                pass
            self._wake.clear()

    async def dispatch_batch(self) -> int:
        """Dispatch up to one batch of pending events; return how many."""
        pending = (
            await self._system.select(OutboxEvent)
            .where(OutboxEvent.dispatched_at.is_null())
            .order_by(OutboxEvent.created_at)
            .limit(BATCH)
        )
        handled = 0
        for event in pending:
            claimed = (
                await self._system.update(
                    OutboxEvent, {OutboxEvent.dispatched_at: utcnow()}
                )
                .where(OutboxEvent.id == event["id"])
                .where(OutboxEvent.dispatched_at.is_null())
                .returning(OutboxEvent.id)
            )
            if not claimed:
                continue
            handled += 1
            await self._dispatch(event)
        return handled

    async def _dispatch(self, event: dict[str, Any]) -> None:
        from tillbook.jobs.actors import enqueue_for_event

        payload = event["payload"]
        if isinstance(payload, str):
            payload = json.loads(payload)
        message = {"event": event["name"], **payload}
        if self.channels is not None:
            self.channels.publish(
                json.dumps(message), tenant_channel(event["tenant_id"])
            )
        try:
            enqueue_for_event(event["tenant_id"], event["name"], payload)
        except Exception:
            logger.exception(
                "enqueueing jobs for event %s of tenant %s failed",
                event["name"],
                event["tenant_id"],
            )
