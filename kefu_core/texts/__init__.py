"""What crm_bridge itself tells the customer (system messages), in English and Chinese."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

TEXTS = {
    "sorry": {
        "en": "I'm very sorry about this. I'm passing your conversation to our team.",
        "zh": "非常抱歉给您带来不好的体验，我把您的对话转给我们的客服团队。",
    },
    "queued": {
        "en": "You are number {position} in the queue for an agent. Estimated wait: about {minutes} min.",
        "zh": "您正在排队等待人工客服，目前排在第 {position} 位，预计等待约 {minutes} 分钟。",
    },
    "assigned": {
        "en": "{agent} has joined the chat.",
        "zh": "客服 {agent} 已接入对话。",
    },
    "offline": {
        "en": "No agent is available right now. We created ticket {ticket} with this conversation and will "
        "answer by {when}.",
        "zh": "目前没有人工客服在线。我们已根据本次对话为您创建工单 {ticket}，将在 {when} 前回复您。",
    },
    "resolved": {
        "en": "The agent has closed this chat. Please rate the help you received.",
        "zh": "客服已结束本次对话，请为本次服务评分。",
    },
    "handback": {
        "en": "You are chatting with the assistant again.",
        "zh": "您已回到智能助手，可以继续提问。",
    },
}


def say(key: str, language: str | None, **values: object) -> str:
    """The text `key` in `language` (English when unknown), filled in."""
    table = TEXTS[key]
    return table.get(language or "en", table["en"]).format(**values)


def when(at: datetime, timezone: str) -> str:
    """A reply-by time the customer can read: local date and time with the zone name."""
    local = at.astimezone(ZoneInfo(timezone))
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or timezone)
