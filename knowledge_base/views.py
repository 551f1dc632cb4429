"""Knowledge-base routes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from crm_bridge.auth import require_service
from crm_bridge.conversations.language import detect_language
from knowledge_base.retriever import FaqRetriever
from knowledge_base.schemas import SearchHit, SearchResponse

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge base"])


def get_retriever(request: Request) -> FaqRetriever:
    """The retriever built at start-up."""
    retriever: FaqRetriever = request.app.state.retriever
    return retriever


@router.get("/search", response_model=SearchResponse, dependencies=[Depends(require_service)])
def search(
    retriever: Annotated[FaqRetriever, Depends(get_retriever)],
    q: Annotated[str, Query(min_length=1, max_length=5000, description="the customer's question")],
    lang: Annotated[Literal["en", "zh"] | None, Query(description="detected from q when absent")] = None,
    k: Annotated[int, Query(ge=1, le=20)] = 3,
) -> SearchResponse:
    """Rank published entries for a question and decide: answer, clarify or none."""
    if not q.strip():
        raise HTTPException(422, "q must not be blank")
    result = retriever.search(q, language=lang or detect_language(q), k=k)
    return SearchResponse(
        decision=result.decision,
        results=[SearchHit(**hit.__dict__) for hit in result.results],
        took_ms=round(result.took_ms, 2),
    )
