"""中文: the same keys and placeholders as `en` (tests/kefu_core/test_texts.py checks it)."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    # crm_bridge: escalation system messages
    "sorry": "非常抱歉给您带来不好的体验，我把您的对话转给我们的客服团队。",
    "queued": "您正在排队等待人工客服，目前排在第 {position} 位，预计等待约 {minutes} 分钟。",
    "assigned": "客服 {agent} 已接入对话。",
    "offline": "目前没有人工客服在线。我们已根据本次对话为您创建工单 {ticket}，将在 {when} 前回复您。",
    "resolved": "客服已结束本次对话，请为本次服务评分。",
    "handback": "您已回到智能助手，可以继续提问。",
    # crm_bridge: the reply when Rasa cannot be reached
    "assistant_unavailable": "抱歉，智能助手暂时无法使用。您的消息已保存，我们会尽快回复您。",
    # channels: the answer to a sticker, photo or other non-text message on an IM channel
    "text_only": "抱歉，我目前只能读取文字消息，请用文字描述您的问题。",
    # actions: a due time (`at` is the local datetime, `zone` the UTC offset), and what stands for none
    "due_time": "{at.month}月{at.day}日 {at:%H:%M}（{zone}）",
    "no_value": "—",
    "unknown_wait": "?",
    # actions: contact fields
    "field_email": "邮箱",
    "field_phone": "手机号",
    # actions: ticket statuses, and the reply promise added to an unanswered open ticket
    "status_new": "已受理，正在等待客服处理",
    "status_open": "正在处理中",
    "status_pending": "正在等待您的回复",
    "status_resolved": "已解决",
    "status_closed": "已关闭",
    "reply_expected": "，预计 {due} 前回复",
}
