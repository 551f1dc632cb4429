"""A background thread that delivers due outbox items every few seconds."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.connectors.base import CRMConnector
from crm_bridge.outbox.service import Counts, process_due

log = logging.getLogger("kefu.outbox")


class OutboxWorker:
    """Runs process_due for one connector on a daemon thread; errors are logged, never fatal."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        connector: CRMConnector,
        *,
        connector_name: str,
        interval_s: float = 10.0,
        limit: int = 50,
    ) -> None:
        self.session_factory = session_factory
        self.connector = connector
        self.connector_name = connector_name
        self.interval_s = interval_s
        self.limit = limit
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> Counts:
        """One delivery round in a fresh session."""
        with self.session_factory() as session:
            return process_due(session, self.connector, connector_name=self.connector_name, limit=self.limit)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                counts = self.run_once()
                if counts.delivered or counts.dead:
                    log.info("outbox %s: %s", self.connector_name, counts)
            except Exception:
                # A database hiccup must not end delivery for the life of the process.
                log.exception("outbox %s: delivery round failed", self.connector_name)
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        """Start the thread (no-op when already running)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"outbox-{self.connector_name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish its round and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()


def start_zoho_worker(
    session_factory: sessionmaker[Session], interval_s: float = 10.0
) -> OutboxWorker | None:
    """Start delivering to Zoho when KEFU_ZOHO_* credentials are set; None otherwise."""
    from crm_bridge.connectors.zoho import ZohoConnector, ZohoSettings

    settings = ZohoSettings()
    if not settings.configured:
        return None
    worker = OutboxWorker(
        session_factory, ZohoConnector(settings), connector_name="zoho", interval_s=interval_s
    )
    worker.start()
    return worker
