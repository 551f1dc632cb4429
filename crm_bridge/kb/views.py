"""Knowledge-base routes: search (service and admins), curation, import/export, unanswered inbox (admins)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.audit import service as audit
from crm_bridge.conversations.models import Conversation
from crm_bridge.db import DbSession
from crm_bridge.kb.models import KbDecision
from crm_bridge.kb.schemas import FaqUpdate
from crm_bridge.observability.metrics import kb_search
from crm_bridge.pagination import Page, PageParams, page_params, paginate
from crm_bridge.shapes import PathId
from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role
from kefu_core.errors import Invalid
from kefu_core.language import detect_language
from knowledge_base import curation, runtime, unanswered
from knowledge_base.models import FaqEntry, FaqRevision, FaqStatus
from knowledge_base.retriever import FaqRetriever
from knowledge_base.schemas import (
    AddVariant,
    FaqCreate,
    FaqRead,
    ImportReport,
    NewEntryFromQuestion,
    RevisionRead,
    SearchHit,
    SearchResponse,
    UnansweredGroup,
)

router = APIRouter(prefix="/api/v1/kb", tags=["knowledge base"])
Admin = Annotated[Principal, require_role(Role.admin)]
AdminOrService = Annotated[Principal, require_role(Role.admin, allow_service=True)]
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def get_retriever(request: Request) -> FaqRetriever:
    """The retriever built at start-up."""
    retriever: FaqRetriever = request.app.state.retriever
    return retriever


Retriever = Annotated[FaqRetriever, Depends(get_retriever)]


def _audit(
    session: Session,
    request: Request,
    principal: Principal,
    entry: FaqEntry,
    action: str,
    before: FaqStatus | None = None,
) -> None:
    """Record a change to an entry, and its publication or withdrawal when its status crossed over."""
    details = {"status": entry.status.value, "version": entry.version}
    audit.record(
        session, request, principal, action=action, target_type="faq", target_id=entry.id, details=details
    )
    published = entry.status is FaqStatus.published
    if published != (before is FaqStatus.published):
        action = "kb.publish" if published else "kb.unpublish"
        audit.record(
            session, request, principal, action=action, target_type="faq", target_id=entry.id, details=details
        )


def _record_decision(session: Session, conversation_id: str, language: str, result: Any) -> bool:
    """A search for a customer (the action server passes the conversation) is counted for the reports:
    unanswered rate and FAQ-entry frequencies (docs/reports.md). An unknown conversation is not."""
    if session.get(Conversation, conversation_id) is None:
        return False
    top = result.results[0] if result.results else None
    session.add(
        KbDecision(
            conversation_id=conversation_id,
            language=language,
            decision=result.decision,
            top_faq_id=top.faq_id if top else None,
        )
    )
    return True


@router.get("/search", response_model=SearchResponse)
def search(
    _: AdminOrService,
    retriever: Retriever,
    session: DbSession,
    q: Annotated[str, Query(min_length=1, max_length=5000, description="the customer's question")],
    lang: Annotated[Literal["en", "zh"] | None, Query(description="detected from q when absent")] = None,
    k: Annotated[int, Query(ge=1, le=20)] = 3,
    log: Annotated[bool, Query(description="record a `none` answer in the unanswered inbox")] = False,
    conversation_id: Annotated[str | None, Query(max_length=32)] = None,
) -> SearchResponse:
    """Rank published entries for a question and decide: answer, clarify or none."""
    if not q.strip():
        raise HTTPException(422, "q must not be blank")
    language = lang or detect_language(q)
    runtime.ensure_fresh(retriever, session)
    result = retriever.search(q, language=language, k=k)
    kb_search(language, result.decision, result.took_ms / 1000)
    if conversation_id and _record_decision(session, conversation_id, language, result):
        session.commit()
    if log and result.decision == "none":
        top = result.results[0] if result.results else None
        unanswered.log(
            session, text=q.strip(), language=language, conversation_id=conversation_id,
            top_faq_id=top.faq_id if top else None, top_score=top.score if top else None,
        )  # fmt: skip
        session.commit()
    return SearchResponse(
        decision=result.decision,
        results=[SearchHit(**hit.__dict__) for hit in result.results],
        took_ms=round(result.took_ms, 2),
    )


@router.get("/faqs", response_model=Page[FaqRead])
def list_faqs(
    _: Admin,
    session: DbSession,
    page: Annotated[PageParams, Depends(page_params)],
    status: FaqStatus | None = None,
    language: Literal["en", "zh"] | None = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Entries by status, language, category, or text in the question or answer."""
    stmt = curation.list_query(status=status, language=language, category=category, q=q)
    items, total = paginate(session, stmt, page)
    return {"items": [curation.to_dict(e) for e in items], "total": total}


@router.post("/faqs", response_model=FaqRead, status_code=201)
def create_faq(
    body: FaqCreate, principal: Admin, session: DbSession, retriever: Retriever, request: Request
) -> dict[str, Any]:
    """Create an entry (draft unless `status` says otherwise)."""
    entry = curation.create(session, data=body.model_dump(), author_id=principal.user_id)
    _audit(session, request, principal, entry, "kb.create")
    session.commit()
    runtime.refresh(retriever, session)
    return curation.to_dict(entry)


@router.get("/faqs/{faq_id}", response_model=FaqRead)
def get_faq(faq_id: str, _: Admin, session: DbSession) -> dict[str, Any]:
    """One entry with its variants."""
    return curation.to_dict(curation.get_or_raise(session, faq_id))


@router.patch("/faqs/{faq_id}", response_model=FaqRead)
def update_faq(
    faq_id: str, body: FaqUpdate, principal: Admin, session: DbSession, retriever: Retriever, request: Request
) -> dict[str, Any]:
    """Edit, add variants, publish or archive; each change is a new version with a revision."""
    entry = curation.get_or_raise(session, faq_id)
    before = entry.status
    curation.update(
        session, entry=entry, changes=body.model_dump(exclude_unset=True), author_id=principal.user_id
    )
    _audit(session, request, principal, entry, "kb.update", before)
    session.commit()
    runtime.refresh(retriever, session)
    return curation.to_dict(entry)


@router.delete("/faqs/{faq_id}", status_code=204)
def delete_faq(
    faq_id: str, principal: Admin, session: DbSession, retriever: Retriever, request: Request
) -> Response:
    """Remove an entry (its revisions stay)."""
    entry = curation.get_or_raise(session, faq_id)
    audit.record(
        session,
        request,
        principal,
        action="kb.delete",
        target_type="faq",
        target_id=entry.id,
        details={"status": entry.status.value, "version": entry.version},
    )
    curation.delete(session, entry=entry, author_id=principal.user_id)
    session.commit()
    runtime.refresh(retriever, session)
    return Response(status_code=204)


@router.get("/faqs/{faq_id}/revisions", response_model=list[RevisionRead])
def faq_revisions(faq_id: str, _: Admin, session: DbSession) -> Any:
    """Every change to an entry, oldest first (also after it was deleted)."""
    stmt = select(FaqRevision).where(FaqRevision.faq_id == faq_id).order_by(FaqRevision.id)
    return list(session.scalars(stmt))


@router.post("/import", response_model=ImportReport)
async def import_faqs(
    file: UploadFile,
    request: Request,
    principal: Admin,
    session: DbSession,
    retriever: Retriever,
    format: Annotated[
        Literal["jsonl", "csv"] | None, Query(description="default: from the file name")
    ] = None,
) -> ImportReport:
    """JSONL or CSV in the import format, validated row by row: all rows or none (bad rows named)."""
    content = await file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise Invalid(f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    name = (file.filename or "").lower()
    fmt = format or (
        "csv" if name.endswith(".csv") else "jsonl" if name.endswith((".jsonl", ".json")) else None
    )
    if fmt is None:
        raise Invalid("say format=jsonl or format=csv (the file name does not tell)")
    rows = curation.parse_import(content, fmt)
    created, updated = curation.import_rows(session, rows, author_id=principal.user_id)
    audit.record(
        session,
        request,
        principal,
        action="kb.import",
        target_type="faq",
        details={"format": fmt, "created": created, "updated": updated},
    )
    session.commit()
    runtime.refresh(retriever, session)
    return ImportReport(created=created, updated=updated, total=created + updated)


@router.get("/export")
def export_faqs(_: Admin, session: DbSession, format: Literal["jsonl", "csv"] = "jsonl") -> Response:
    """Every entry in the import format."""
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    headers = {"Content-Disposition": f'attachment; filename="kefu-faqs.{format}"'}
    return Response(curation.export(session, format), media_type=media, headers=headers)


@router.get("/unanswered", response_model=list[UnansweredGroup])
def list_unanswered(
    _: Admin, session: DbSession, retriever: Retriever, language: Literal["en", "zh"] | None = None
) -> list[dict[str, Any]]:
    """Open unanswered questions, grouped when they ask the same thing (biggest groups first)."""
    return unanswered.group(unanswered.open_items(session, language), retriever.embedder, retriever.encoders)


@router.post("/unanswered/{item_id}/add-variant", response_model=FaqRead)
def unanswered_add_variant(
    item_id: PathId, body: AddVariant, principal: Admin, session: DbSession, retriever: Retriever
) -> dict[str, Any]:
    """Add the question as a variant of an entry."""
    entry = unanswered.add_as_variant(
        session, item_id=item_id, faq_id=body.faq_id, author_id=principal.user_id
    )
    session.commit()
    runtime.refresh(retriever, session)
    return curation.to_dict(entry)


@router.post("/unanswered/{item_id}/new-entry", response_model=FaqRead, status_code=201)
def unanswered_new_entry(
    item_id: PathId,
    body: NewEntryFromQuestion,
    principal: Admin,
    session: DbSession,
    retriever: Retriever,
    request: Request,
) -> dict[str, Any]:
    """Start a new entry from the question (a draft unless `status` says otherwise)."""
    entry = unanswered.start_entry(
        session, item_id=item_id, answer=body.answer, category=body.category, status=body.status,
        author_id=principal.user_id,
    )  # fmt: skip
    _audit(session, request, principal, entry, "kb.create")
    session.commit()
    runtime.refresh(retriever, session)
    return curation.to_dict(entry)
