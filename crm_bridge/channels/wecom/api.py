"""The WeCom server API (qyapi.weixin.qq.com/cgi-bin/...): an access token from gettoken cached
process-wide until shortly before it expires, refreshed once when a call says it is invalid or expired.
The token travels in every URL's query, so neither URLs nor httpx's request lines are ever logged."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx

from kefu_core.settings import get_settings

log = logging.getLogger("kefu.channels.wecom")
TOKEN_ERRORS = frozenset({40014, 42001})  # invalid access_token, access_token expired
EARLY_S = 300.0  # renew this long before expires_in runs out (WeCom gives 7,200 s)


@dataclass
class ApiError(Exception):
    """A WeCom call that failed: its errcode (-1 when WeCom could not be reached or answered garbage)."""

    errcode: int
    errmsg: str

    def __str__(self) -> str:
        return f"WeCom error {self.errcode}: {self.errmsg}"


_tokens: dict[str, tuple[str, float]] = {}  # per API URL, corp and secret: (token, monotonic deadline)
_lock = threading.Lock()


def _key(api_url: str, corp_id: str, secret: str) -> str:
    return hashlib.sha256(f"{api_url}\0{corp_id}\0{secret}".encode()).hexdigest()  # no secret in memory keys


def forget_tokens() -> None:
    """Drop every cached access token (tests; a secret change)."""
    with _lock:
        _tokens.clear()


class WeComClient:
    """Calls for one corp's 微信客服 secret."""

    def __init__(self, api_url: str, corp_id: str, secret: str, http: httpx.Client) -> None:
        self._base = api_url.rstrip("/")
        self._corp_id, self._secret = corp_id, secret
        self._http = http
        self._key = _key(self._base, corp_id, secret)

    def _request(self, method: str, path: str, params: dict[str, str], body: Any = None) -> dict[str, Any]:
        try:
            response = self._http.request(method, f"{self._base}/cgi-bin/{path}", params=params, json=body)
        except httpx.HTTPError as exc:
            raise ApiError(-1, f"unreachable ({type(exc).__name__})") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ApiError(-1, f"HTTP {response.status_code} without a JSON answer")
        code = answer.get("errcode", 0)
        if code:
            raise ApiError(int(code), str(answer.get("errmsg") or "")[:300])
        return answer

    def access_token(self, *, refresh: bool = False) -> str:
        """The cached token, or a new one from gettoken (one caller fetches while the others wait)."""
        with _lock:
            cached = _tokens.get(self._key)
            if cached and not refresh and cached[1] > time.monotonic():
                return cached[0]
            answer = self._request("GET", "gettoken", {"corpid": self._corp_id, "corpsecret": self._secret})
            token = str(answer.get("access_token") or "")
            if not token:
                raise ApiError(-1, "gettoken returned no access_token")
            expires = float(answer.get("expires_in") or 7200)
            _tokens[self._key] = (token, time.monotonic() + max(expires - EARLY_S, expires / 2))
            return token

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST `path` with the access token; a token WeCom calls invalid or expired is renewed once."""
        token = self.access_token()
        try:
            return self._request("POST", path, {"access_token": token}, body)
        except ApiError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("WeCom access token refused (%s): renewing it once", exc.errcode)
            with _lock:  # only drop it if nobody renewed it meanwhile
                if _tokens.get(self._key, ("",))[0] == token:
                    _tokens.pop(self._key, None)
            return self._request("POST", path, {"access_token": self.access_token()}, body)

    def sync_msg(self, *, open_kfid: str, cursor: str, token: str, limit: int = 1000) -> dict[str, Any]:
        """One page of kf/sync_msg: msg_list, next_cursor, has_more."""
        body: dict[str, Any] = {"cursor": cursor, "token": token, "limit": limit, "open_kfid": open_kfid}
        return self.call("kf/sync_msg", body)

    def send_msg(self, payload: dict[str, Any]) -> str | None:
        """kf/send_msg; the msgid WeCom gives the sent message."""
        msgid = self.call("kf/send_msg", payload).get("msgid")
        return str(msgid) if msgid else None

    def service_state(self, *, open_kfid: str, external_userid: str) -> tuple[int, str]:
        """kf/service_state/get: (service_state, servicer_userid)."""
        answer = self.call(
            "kf/service_state/get", {"open_kfid": open_kfid, "external_userid": external_userid}
        )
        return int(answer.get("service_state", -1)), str(answer.get("servicer_userid") or "")

    def trans(self, *, open_kfid: str, external_userid: str, state: int, servicer: str = "") -> None:
        """kf/service_state/trans to `state` (3 needs the servicer's WeCom userid)."""
        body: dict[str, Any] = {"open_kfid": open_kfid, "external_userid": external_userid}
        body["service_state"] = state
        if servicer:
            body["servicer_userid"] = servicer
        self.call("kf/service_state/trans", body)


@lru_cache(maxsize=4)
def _http(timeout_s: float) -> httpx.Client:
    return httpx.Client(timeout=timeout_s)


def client() -> WeComClient | None:
    """The configured corp's client, or None when KEFU_WECOM_* are not set."""
    settings = get_settings()
    if not settings.wecom_configured:
        return None
    return WeComClient(
        settings.wecom_api_url, settings.wecom_corp_id.strip(), settings.wecom_secret.strip(), _http(10.0)
    )
