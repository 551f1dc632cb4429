"""Chat routes (open to customers: no role needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from crm_bridge.chat.flows import handle_turn
from crm_bridge.chat.schemas import ChatRequest, ChatResponse
from crm_bridge.db import DbSession

router = APIRouter(prefix="/api/v1", tags=["chat"])


@router.post("/chat", response_model=ChatResponse)
def chat(body: ChatRequest, session: DbSession, request: Request) -> ChatResponse:
    """Send a customer message; get the bot's (or nobody's, while a human owns it) replies."""
    return handle_turn(session, request.app.state.rasa, body)
