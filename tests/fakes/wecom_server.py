"""A local fake of the WeCom server API for 微信客服, because qyapi.weixin.qq.com cannot be reached here.

It follows the documented formats (developer.work.weixin.qq.com, 微信客服 → 会话分配与消息收发): every
answer is JSON with `errcode`/`errmsg` (HTTP 200 even for errors);
- GET /cgi-bin/gettoken?corpid=&corpsecret= → access_token, expires_in (7,200); a wrong secret is 40001;
- every other call carries ?access_token=: an unknown one is 40014, one made stale by `expire_token()` 42001;
- POST /cgi-bin/kf/sync_msg {cursor, token, limit, open_kfid} → msg_list, next_cursor, has_more; the
  messages are those the test queued for that kf account (`page_size` makes pages small);
- POST /cgi-bin/kf/send_msg {touser, open_kfid, msgtype, text{content} | msgmenu{...}} → msgid; text up
  to 2,048 bytes, msgmenu head_content up to 1,024 bytes and 10 items; only in session states 0 and 1
  (else 95018); at most 5 messages within 48 hours of the customer's last message (else 95001);
- POST /cgi-bin/kf/service_state/get and /trans: states 0 new, 1 智能助手, 2 queue, 3 servicer (needs
  servicer_userid), 4 ended, changed along the documented flow (0→1/2/3/4, 1→2/3/4, 2→3/4, 3→3/4).
Not from the docs (the fake's choice where they name no code): 40058 for an over-long content and 95016
for a state change the flow does not allow.
Control: queue_message()/queue_event() add to sync_msg's stream; fail_next(count, errcode) makes the
next send_msg calls fail; expire_token(); set_state(). `sent`, `trans_calls`, `sync_calls`, `token_calls`
record what arrived.
"""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

from tests.fakes.base import FakeServer, Request, Response

WINDOW_S = 48 * 3600
ALLOWED = {0: {1, 2, 3, 4}, 1: {2, 3, 4}, 2: {3, 4}, 3: {3, 4}, 4: set()}


def _error(code: int, message: str) -> Response:
    return Response(200, {"errcode": code, "errmsg": f"{message}, hint: [fake]"})


class FakeWeCom(FakeServer):
    """The fake server: start()/stop() run it in a thread."""

    def __init__(self, corp_id: str, secret: str) -> None:
        super().__init__()
        self.corp_id, self.secret = corp_id, secret
        self.tokens: set[str] = set()
        self.stale: set[str] = set()
        self.token_calls = 0
        self.page_size = 1000
        self.stream: dict[str, list[dict[str, Any]]] = {}  # per open_kfid, in arrival order
        self.sync_calls: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []  # accepted send_msg bodies
        self.send_attempts = 0
        self.failures: list[int] = []
        self.trans_calls: list[dict[str, Any]] = []
        self.states: dict[tuple[str, str], tuple[int, str]] = {}  # (kf, user) → (state, servicer)
        self.window: dict[tuple[str, str], tuple[float, int]] = {}  # → (customer's last message, sent since)
        self._ids = itertools.count(1)

    # --- control -------------------------------------------------------------------------------
    def queue_message(self, open_kfid: str, external_userid: str, msgtype: str = "text", **body: Any) -> str:
        """A customer's message (origin 3) for sync_msg; `body` is e.g. text={"content": ...}. Its msgid."""
        msgid = f"msg{uuid.uuid4().hex[:20]}"
        entry = {
            "msgid": msgid,
            "open_kfid": open_kfid,
            "external_userid": external_userid,
            "send_time": int(time.time()),
            "origin": 3,
            "msgtype": msgtype,
            **body,
        }
        with self.lock:
            self.stream.setdefault(open_kfid, []).append(entry)
            key = (open_kfid, external_userid)
            if self.states.get(key, (4, ""))[0] == 4:  # a new session starts untreated
                self.states[key] = (0, "")
            self.window[key] = (time.time(), 0)
        return msgid

    def queue_entry(self, open_kfid: str, entry: dict[str, Any]) -> None:
        """Any other sync_msg entry (an event, a servicer's message with origin 5...)."""
        with self.lock:
            self.stream.setdefault(open_kfid, []).append(entry)

    def fail_next(self, count: int, errcode: int) -> None:
        """The next `count` send_msg calls answer `errcode`."""
        with self.lock:
            self.failures.extend([errcode] * count)

    def expire_token(self) -> None:
        """Every token handed out so far answers 42001 from now on."""
        with self.lock:
            self.stale |= self.tokens

    def set_state(self, open_kfid: str, external_userid: str, state: int, servicer: str = "") -> None:
        """Put a session in a state (e.g. 3: a servicer took it in the WeCom app)."""
        with self.lock:
            self.states[(open_kfid, external_userid)] = (state, servicer)

    def texts(self, external_userid: str) -> list[str]:
        """What reached one customer: text contents and menu heads (with their items), in order."""
        with self.lock:
            sent = [m for m in self.sent if m["touser"] == external_userid]
        return [
            m["text"]["content"] if m["msgtype"] == "text" else m["msgmenu"]["head_content"] for m in sent
        ]

    # --- the API ---------------------------------------------------------------------------------
    def _gettoken(self, query: dict[str, str]) -> Response:
        if query.get("corpid") != self.corp_id:
            return _error(40013, "invalid corpid")
        if query.get("corpsecret") != self.secret:
            return _error(40001, "invalid credential")
        token = f"tok-{uuid.uuid4().hex}"
        with self.lock:
            self.tokens.add(token)
            self.token_calls += 1
        return Response(200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    def _sync(self, body: dict[str, Any]) -> Response:
        with self.lock:
            self.sync_calls.append(dict(body))
            stream = self.stream.get(str(body.get("open_kfid")), [])
            cursor = str(body.get("cursor") or "")
            start = int(cursor.removeprefix("cur")) if cursor.startswith("cur") else 0
            size = min(int(body.get("limit") or 1000), 1000, self.page_size)
            page = stream[start : start + size]
            end = start + len(page)
            has_more = int(end < len(stream))
        return Response(
            200,
            {
                "errcode": 0,
                "errmsg": "ok",
                "next_cursor": f"cur{end}",
                "has_more": has_more,
                "msg_list": page,
            },
        )

    def _send(self, body: dict[str, Any]) -> Response:
        key = (str(body.get("open_kfid")), str(body.get("touser")))
        with self.lock:
            self.send_attempts += 1
            failure = self.failures.pop(0) if self.failures else None
            state = self.states.get(key, (4, ""))[0]
            last, count = self.window.get(key, (0.0, 0))
        if failure is not None:
            return _error(failure, "failure on demand")
        if not body.get("touser") or not body.get("open_kfid"):
            return _error(40058, "invalid touser or open_kfid")
        kind = body.get("msgtype")
        if kind == "text":
            content = (body.get("text") or {}).get("content")
            if not isinstance(content, str) or not content or len(content.encode()) > 2048:
                return _error(40058, "invalid text content size")
        elif kind == "msgmenu":
            menu = body.get("msgmenu") or {}
            items = menu.get("list") or []
            if len(str(menu.get("head_content") or "").encode()) > 1024 or not 0 < len(items) <= 10:
                return _error(40058, "invalid msgmenu")
            if any(len(i["click"]["content"].encode()) > 128 for i in items if i.get("type") == "click"):
                return _error(40058, "invalid msgmenu item content size")
        else:
            return _error(40008, "invalid message type")
        if state not in (0, 1):
            return _error(95018, "send msg session status invalid")
        if time.time() - last > WINDOW_S or count >= 5:
            return _error(95001, "send msg count exceed limit")
        msgid = f"sent{next(self._ids)}"
        with self.lock:
            self.window[key] = (last, count + 1)
            self.sent.append({**body, "msgid": msgid, "at": time.monotonic()})
        return Response(200, {"errcode": 0, "errmsg": "ok", "msgid": msgid})

    def _state(self, path: str, body: dict[str, Any]) -> Response:
        key = (str(body.get("open_kfid")), str(body.get("external_userid")))
        with self.lock:
            state, servicer = self.states.get(key, (4, ""))
            if path.endswith("/get"):
                return Response(
                    200, {"errcode": 0, "errmsg": "ok", "service_state": state, "servicer_userid": servicer}
                )
            self.trans_calls.append(dict(body))
            target = body.get("service_state")
            wanted = str(body.get("servicer_userid") or "")
            if target not in ALLOWED[state] or (target == 3 and not wanted):
                return _error(95016, "service state transition not allowed")
            self.states[key] = (int(target), wanted if target == 3 else "")
        return Response(200, {"errcode": 0, "errmsg": "ok", "msg_code": ""})

    def handle(self, request: Request) -> Response:
        """/cgi-bin/gettoken, then token-checked kf calls."""
        path = request.path.removeprefix("/cgi-bin/")
        if path == "gettoken" and request.method == "GET":
            return self._gettoken(request.query)
        token = request.query.get("access_token", "")
        with self.lock:
            known, stale = token in self.tokens, token in self.stale
        if stale:
            return _error(42001, "access_token expired")
        if not known:
            return _error(40014, "invalid access_token")
        body = request.json()
        body = body if isinstance(body, dict) else {}
        if path == "kf/sync_msg":
            return self._sync(body)
        if path == "kf/send_msg":
            return self._send(body)
        if path in ("kf/service_state/get", "kf/service_state/trans"):
            return self._state(path, body)
        return _error(404, "api not found")
