"""The dramatiq broker: Redis when configured, otherwise in-process.

Actors run their database work as coroutines on one event loop per process
(``runtime.run``). In ``tillbook serve`` with the in-process broker that loop
is the web server's own, so the jobs share its connection pool.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.brokers.stub import StubBroker

from tillbook.config import Settings

logger = logging.getLogger("tillbook.jobs")

_worker: dramatiq.Worker | None = None


def setup_broker(settings: Settings) -> dramatiq.Broker:
    """Install the broker for ``settings`` and declare every actor on it."""
    broker: dramatiq.Broker
    if settings.redis_url:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(
            url=settings.redis_url, namespace=f"{settings.redis_prefix}:dramatiq"
        )
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    from tillbook.jobs import actors

    for actor in actors.ALL_ACTORS:
        actor.broker = broker
        broker.declare_actor(actor)
    # Every worker on this broker also sweeps for due reminders.
    from tillbook.jobs.reminders import install_sweeper

    install_sweeper(broker)
    logger.info("job broker is %s", type(broker).__name__)
    return broker


def start_inprocess_worker(threads: int = 2) -> dramatiq.Worker:
    """Start worker threads in this process for the current broker."""
    global _worker
    stop_inprocess_worker()
    _worker = dramatiq.Worker(
        dramatiq.get_broker(), worker_threads=threads, worker_timeout=100
    )
    _worker.start()
    return _worker


def stop_inprocess_worker() -> None:
    """Stop the in-process worker threads, if running."""
    global _worker
    if _worker is not None:
        _worker.stop()
        _worker = None


def join_queues(timeout_ms: int = 10_000) -> None:
    """Wait until every queue is empty and the worker is idle (tests use this)."""
    broker = dramatiq.get_broker()
    for queue in list(broker.get_declared_queues()):
        broker.join(queue, timeout=timeout_ms)
    if _worker is not None:
        _worker.join()
