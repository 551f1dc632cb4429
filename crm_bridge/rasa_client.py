"""Talks to Rasa's REST channel (Rasa runs in its own environment and process), on one replica or
several (RASA_URLS): each conversation goes to one replica while it is healthy and fails over when it
is not (docs/decisions/0019-rasa-replicas.md)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from kefu_core.settings import get_settings
from kefu_core.signing import with_signature


class RasaUnavailable(Exception):
    """Rasa did not answer, or answered with an error."""


@dataclass(frozen=True)
class BotReply:
    """One message the bot wants to send."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


def auth_headers(token: str | None = None) -> dict[str, str]:
    """The header every call to Rasa carries (RASA_TOKEN; none when no token is set)."""
    token = get_settings().rasa_token if token is None else token
    # A header, not Rasa's ?token=: query strings end up in access logs.
    return {"Authorization": f"Bearer {token}"} if token else {}


def replica_urls(urls: str | Sequence[str]) -> list[str]:
    """Base URLs from one URL, a comma-separated list (RASA_URLS) or a sequence; duplicates dropped."""
    items = urls.split(",") if isinstance(urls, str) else list(urls)
    found: list[str] = []
    for item in items:
        url = item.strip().rstrip("/")
        if url and url not in found:
            found.append(url)
    if not found:
        raise ValueError("no Rasa URL given")
    return found


def rendezvous(urls: Sequence[str], key: str) -> list[str]:
    """`urls` in this key's preference order (highest random weight): each key keeps its replica while
    the list is unchanged, and removing one replica moves only the keys that preferred it."""

    def weight(url: str) -> bytes:
        return hashlib.sha256(f"{url}\n{key}".encode()).digest()

    return sorted(urls, key=weight, reverse=True)


class _Failover(Exception):
    """This replica failed before answering (down, dying, erroring): the next one may take the message."""


class _Replica:
    """One Rasa server: its pooled client and until when it counts as unhealthy."""

    def __init__(self, url: str, timeout_s: float, headers: dict[str, str]) -> None:
        self.url = url
        self._timeout_s = timeout_s
        self._headers = headers
        self.unhealthy_until = 0.0
        self._http = self._client()

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=self._timeout_s, headers=self._headers)

    @property
    def http(self) -> httpx.Client:
        """The pooled client, reopened if an earlier shutdown closed it (an app can start more than once)."""
        if self._http.is_closed:
            self._http = self._client()
        return self._http

    def close(self) -> None:
        """Close its pooled connections."""
        self._http.close()


class RasaClient:
    """Pooled HTTP clients for `POST /webhooks/rest/webhook` on one Rasa replica or several.

    `base_url`: one URL, a comma-separated list or a sequence. A conversation's messages go to the
    replica its id prefers (rendezvous hashing); a replica that refuses the connection, drops it or
    answers 5xx is skipped for `backoff_s` and the next one takes the message at once. A timeout marks
    the replica unhealthy too but is raised rather than resent at once: the slow replica may still be
    answering, and the turn's own retry (later, on the next replica) keeps one send within one timeout.
    """

    def __init__(
        self,
        base_url: str | Sequence[str],
        *,
        timeout_s: float = 15.0,
        token: str | None = None,
        signing_key: str | None = None,
        backoff_s: float = 5.0,
    ) -> None:
        settings = get_settings()
        headers = auth_headers(token)
        self._replicas = [_Replica(url, timeout_s, headers) for url in replica_urls(base_url)]
        self._base_url = self._replicas[0].url
        self._backoff_s = backoff_s
        self._lock = threading.Lock()  # health marks are shared by a worker's threads
        self._signing_key = settings.service_token if signing_key is None else signing_key

    @property
    def urls(self) -> list[str]:
        """Every replica's base URL, in configuration order."""
        return [replica.url for replica in self._replicas]

    @property
    def http(self) -> httpx.Client:
        """The first replica's pooled client (reopened if an earlier shutdown closed it)."""
        return self._replicas[0].http

    def healthy(self, url: str) -> bool:
        """Whether the replica at `url` is not in its backoff after a failure."""
        return all(r.unhealthy_until <= time.monotonic() for r in self._replicas if r.url == url)

    def _mark(self, replica: _Replica, ok: bool) -> None:
        with self._lock:
            replica.unhealthy_until = 0.0 if ok else time.monotonic() + self._backoff_s

    def route(self, sender: str) -> list[str]:
        """The replicas to try for `sender`, in order: healthy ones by preference, then those in backoff
        (when every replica failed lately, trying them beats refusing the message)."""
        by_url = {replica.url: replica for replica in self._replicas}
        order = rendezvous(list(by_url), sender)
        now = time.monotonic()
        healthy = [url for url in order if by_url[url].unhealthy_until <= now]
        return healthy + [url for url in order if url not in healthy]

    def _call(self, sender: str, request: Any) -> httpx.Response:
        """`request(client)` on `sender`'s replicas in route order until one answers without a 5xx."""
        by_url = {replica.url: replica for replica in self._replicas}
        errors: list[str] = []
        for url in self.route(sender):
            replica = by_url[url]
            try:
                response: httpx.Response = request(replica.http)
                if response.status_code >= 500:
                    raise _Failover(f"{url}: HTTP {response.status_code}")
            except httpx.TimeoutException as exc:
                if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):  # nothing was delivered
                    self._mark(replica, False)
                    errors.append(f"{url}: {type(exc).__name__}")
                    continue
                self._mark(replica, False)  # alive but slow: not resent at once (see the class doc)
                raise RasaUnavailable(f"{url}: {type(exc).__name__}: {exc}") from exc
            except (httpx.TransportError, _Failover) as exc:  # refused, reset, closed mid-answer, 5xx
                self._mark(replica, False)
                errors.append(str(exc) if isinstance(exc, _Failover) else f"{url}: {type(exc).__name__}")
                continue
            self._mark(replica, True)
            return response
        raise RasaUnavailable("no Rasa replica answered: " + "; ".join(errors))

    def send(self, *, sender: str, text: str, metadata: dict[str, Any]) -> list[BotReply]:
        """Deliver a customer message (its ids signed for the actions) and return the bot's replies."""
        body = {
            "sender": sender,
            "message": text,
            "metadata": with_signature(self._signing_key, sender, metadata),
        }
        try:
            response = self._call(sender, lambda http: http.post("/webhooks/rest/webhook", json=body))
            response.raise_for_status()  # a 4xx: the request or the token is wrong, on any replica
            payload = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(str(exc)) from exc
        replies = []
        for item in payload if isinstance(payload, list) else []:
            buttons = [
                {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                for b in item.get("buttons") or []
            ]
            text_out = item.get("text") or ""
            if text_out or buttons:
                replies.append(BotReply(text=text_out, buttons=buttons))
        return replies

    def active_loop(self, sender: str) -> str | None:
        """The form the bot is filling with this sender (None when none, or when Rasa cannot say)."""
        try:
            response = self._call(
                sender,
                lambda http: http.get(
                    f"/conversations/{sender}/tracker", params={"include_events": "NONE"}, timeout=3.0
                ),
            )
            response.raise_for_status()
            loop = (response.json().get("active_loop") or {}).get("name")
        except (httpx.HTTPError, ValueError, AttributeError, RasaUnavailable):
            return None  # unknown counts as "not in a form": the trigger then fires as configured
        return str(loop) if loop else None

    def ping(self) -> dict[str, Any]:
        """Rasa's /status (model loaded and serving) from the first replica that answers; with several
        replicas `replicas` says which answered (raises the last error when none did)."""
        error: Exception | None = None
        answered: dict[str, bool] = {}
        result: dict[str, Any] | None = None
        for replica in self._replicas:
            try:
                response = replica.http.get("/status", timeout=3.0)
                response.raise_for_status()
                status: dict[str, Any] = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                error, answered[replica.url] = exc, False
                continue
            answered[replica.url] = True
            result = result or status
            if len(self._replicas) == 1:
                break
        if result is None:
            assert error is not None
            raise error
        return {**result, "replicas": answered} if len(self._replicas) > 1 else result

    def close(self) -> None:
        """Close pooled connections."""
        for replica in self._replicas:
            replica.close()
