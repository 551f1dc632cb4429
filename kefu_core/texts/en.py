"""English: every text crm_bridge and the custom actions write to the customer (Rasa's: bot/domain.yml)."""

from __future__ import annotations

TEXTS: dict[str, str] = {
    # crm_bridge: escalation system messages
    "sorry": "I'm very sorry about this. I'm passing your conversation to our team.",
    "queued": "You are number {position} in the queue for an agent. Estimated wait: about {minutes} min.",
    "assigned": "{agent} has joined the chat.",
    "offline": "No agent is available right now. We created ticket {ticket} with this conversation and will "
    "answer by {when}.",
    "resolved": "The agent has closed this chat. Please rate the help you received.",
    "handback": "You are chatting with the assistant again.",
    # crm_bridge: the reply when Rasa cannot be reached
    "assistant_unavailable": "Sorry, the assistant is temporarily unavailable. Your message has been saved "
    "and we will get back to you as soon as possible.",
    # channels: the answer to a sticker, photo or other non-text message on an IM channel
    "text_only": "Sorry, I can only read text messages for now. Please type your question.",
    # actions: a due time (`at` is the local datetime, `zone` the UTC offset), and what stands for none
    "due_time": "{at:%a %d %b, %H:%M} ({zone})",
    "no_value": "—",
    "unknown_wait": "?",
    # actions: contact fields
    "field_email": "email address",
    "field_phone": "phone number",
    # actions: ticket statuses, and the reply promise added to an unanswered open ticket
    "status_new": "received and waiting for a colleague",
    "status_open": "being worked on",
    "status_pending": "waiting for a reply from you",
    "status_resolved": "resolved",
    "status_closed": "closed",
    "reply_expected": "; expect a reply by {due}",
}
