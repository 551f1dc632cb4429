"""Sending to WeChat customers with kf/send_msg: texts split at 2,048 bytes (text.content's limit),
quick replies as a 菜单消息 (msgmenu: clicking an item sends its text back as the customer's message),
and WeCom's errcodes mapped onto outbound's retry-or-fail."""

from __future__ import annotations

from typing import Any

from crm_bridge.channels.outbound import SendError
from crm_bridge.channels.text import longest_prefix, split_text, utf8_bytes
from crm_bridge.channels.wecom import api
from crm_bridge.channels.wecom.parse import split_recipient

TEXT_LIMIT = 2048  # bytes of text.content
MENU_HEAD_LIMIT = 1024  # bytes of msgmenu.head_content
MENU_ITEMS = 10  # msgmenu.list holds at most 10 items
MENU_ITEM_LIMIT = 128  # bytes of a click item's content
RETRY_LATER = frozenset({-1, 45009, 45033})  # busy; API frequency limit; too many concurrent calls
REASONS = {
    95001: "WeCom allows 5 messages within 48 hours of the customer's last message; the customer must "
    "write again first",
    95018: "WeCom refuses messages in this session's state: a servicer took it in the WeCom app, or it ended",
    95000: "WeCom does not know this open_kfid (is the kf account managed through the API?)",
}


def _clip(text: str, limit: int) -> str:
    return text[: longest_prefix(text, limit, utf8_bytes)]


def payloads(text: str, buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The send_msg bodies (without touser/open_kfid) for one message: text parts, and with buttons the
    last part becomes a msgmenu's head_content (split to 1,024 bytes so no extra message is spent)."""
    parts = split_text(text, TEXT_LIMIT, utf8_bytes)
    if not buttons:
        return [{"msgtype": "text", "text": {"content": part}} for part in parts]
    head = parts.pop()
    head_parts = split_text(head, MENU_HEAD_LIMIT, utf8_bytes)
    parts += head_parts[:-1]
    items = [
        {
            "type": "click",
            "click": {"id": f"kefu-{i}", "content": _clip(str(b.get("title") or b.get("payload")), 128)},
        }
        for i, b in enumerate(buttons[:MENU_ITEMS], start=1)
    ]
    menu = {"msgtype": "msgmenu", "msgmenu": {"head_content": head_parts[-1], "list": items}}
    return [*({"msgtype": "text", "text": {"content": part}} for part in parts), menu]


def send_error(exc: api.ApiError, parts_sent: int) -> SendError:
    """outbound's SendError for a failed send_msg: retried when WeCom may take it later, else permanent."""
    reason = f"WeCom kf/send_msg: {exc.errcode} {REASONS.get(exc.errcode, exc.errmsg)}"
    if exc.errcode in RETRY_LATER:
        # -1 also stands for "unreachable / no JSON": outbound's backoff decides the delay.
        return SendError(reason, retry_after=None if exc.errcode == -1 else 5.0, parts_sent=parts_sent)
    if exc.errcode in api.TOKEN_ERRORS:  # still refused after one renewal: perhaps a passing fault
        return SendError(reason, parts_sent=parts_sent)
    return SendError(reason, permanent=True, parts_sent=parts_sent)


class WeComSender:
    """outbound's Sender for WeCom; `recipient` is the identity's "open_kfid:external_userid"."""

    def __init__(self, wecom: api.WeComClient) -> None:
        self._api = wecom

    def send(
        self, *, recipient: str, text: str, buttons: list[dict[str, Any]], skip_parts: int
    ) -> str | None:
        """send_msg for each part not sent yet; the last part's msgid."""
        try:
            open_kfid, external_userid = split_recipient(recipient)
        except ValueError as exc:
            raise SendError(str(exc), permanent=True) from None
        bodies = payloads(text, buttons)
        msgid: str | None = None
        for index in range(skip_parts, len(bodies)):
            try:
                msgid = self._api.send_msg(
                    {"touser": external_userid, "open_kfid": open_kfid, **bodies[index]}
                )
            except api.ApiError as exc:
                raise send_error(exc, index - skip_parts) from None
        return msgid


def sender() -> WeComSender | None:
    """The configured corp's sender, or None when KEFU_WECOM_* are not set."""
    wecom = api.client()
    return WeComSender(wecom) if wecom is not None else None
