"""A real SMTP server on loopback that records every message it receives."""

from __future__ import annotations

import email
import socket
import time
from email.message import Message

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        self.messages.append(email.message_from_bytes(data))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    # aiosmtpd's Controller connects to its own port to check it started, so
    # it needs a real port number: port 0 would make that check fail.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RecordingSMTPServer:
    """Start with ``start()``; ``messages`` lists parsed emails in arrival order."""

    def __init__(self) -> None:
        self._recorder = _Recorder()
        self._controller = Controller(
            self._recorder, hostname="127.0.0.1", port=_free_port()
        )

    @property
    def messages(self) -> list[Message]:
        return self._recorder.messages

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self._controller.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[Message]:
        """Wait until ``count`` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages

    @staticmethod
    def html_of(message: Message) -> str:
        """Return the decoded HTML part of ``message``."""
        for part in message.walk():
            if part.get_content_type() == "text/html":
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload.decode(part.get_content_charset() or "utf-8")
        raise AssertionError("message has no HTML part")
