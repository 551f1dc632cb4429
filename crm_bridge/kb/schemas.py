"""The knowledge base's change body as the API takes it: knowledge_base's FaqUpdate under the null rule."""

from __future__ import annotations

from crm_bridge import readback
from crm_bridge.shapes import ChangeBody
from knowledge_base import schemas
from knowledge_base.models import FaqEntry


class FaqUpdate(ChangeBody, schemas.FaqUpdate):
    """Changes (only the fields sent are applied; null clears category)."""

    clearable = frozenset({"category"})


readback.guard(FaqEntry, schemas.FaqRead)
