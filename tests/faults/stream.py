"""A stream of writes through the API: households registered one after another, in a thread."""

from __future__ import annotations

import threading
import time

import httpx

from tests import factories


class RegistrationStream:
    """Registers households on ``url`` until stopped; keeps the ids the API acknowledged.

    A request that fails (connection refused or reset, 5xx while a dependency is down) is
    not acknowledged and not retried: the household may or may not exist, and the checker
    counts only what was acknowledged against the origin's outbox.
    """

    def __init__(self, url: str, headers: dict[str, str], pause: float = 0.05) -> None:
        self.url = url
        self.headers = headers
        self.pause = pause
        self.acknowledged: list[str] = []
        self.refused = 0
        self.unexpected: list[str] = []  # 4xx: a bug in the test or the API, not a fault
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="registrations", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def acknowledged_after(self, count: int, more: int, timeout: float = 90) -> bool:
        """Wait until ``more`` registrations beyond ``count`` were acknowledged."""
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count + more:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    def _run(self) -> None:
        with httpx.Client(timeout=10.0, headers=self.headers) as client:
            while not self._stop.is_set():
                try:
                    response = client.post(f"{self.url}/households", json=factories.household())
                except httpx.HTTPError:
                    self.refused += 1
                    time.sleep(0.2)
                    continue
                if response.status_code == 201:
                    self.acknowledged.append(str(response.json()["household_id"]))
                elif response.status_code >= 500:
                    self.refused += 1
                    time.sleep(0.2)
                else:
                    self.unexpected.append(f"{response.status_code} {response.text[:200]}")
                time.sleep(self.pause)
