"""Imports every ORM module so Base.metadata knows all tables (Alembic and tests use it)."""

from crm_bridge.agent import models as agent_models
from crm_bridge.audit import models as audit_models
from crm_bridge.channels import models as channels_models
from crm_bridge.contacts import models as contacts_models
from crm_bridge.conversations import models as conversations_models
from crm_bridge.escalation import models as escalation_models
from crm_bridge.feedback import loop_models as feedback_loop_models
from crm_bridge.feedback import models as feedback_models
from crm_bridge.jobs import models as jobs_models
from crm_bridge.kb import models as kb_decision_models
from crm_bridge.outbox import models as outbox_models
from crm_bridge.reports import models as reports_models
from crm_bridge.reports import models_probe as reports_probe_models
from crm_bridge.tickets import models as tickets_models
from crm_bridge.turns import models as turns_models
from crm_bridge.users import models as users_models
from crm_bridge.widget import models as widget_models
from kefu_core.db import Base
from knowledge_base import models as kb_models

__all__ = [
    "Base",
    "agent_models",
    "audit_models",
    "channels_models",
    "contacts_models",
    "conversations_models",
    "escalation_models",
    "feedback_loop_models",
    "feedback_models",
    "jobs_models",
    "kb_decision_models",
    "kb_models",
    "outbox_models",
    "reports_models",
    "reports_probe_models",
    "tickets_models",
    "turns_models",
    "users_models",
    "widget_models",
]
