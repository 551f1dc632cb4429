"""The service standards reports compare against (KEFU_TARGETS): the seeds' four by default."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServiceTargets(BaseModel):
    """One target per KPI; a KPI without a target (None) shows its figure with `met: null`."""

    model_config = ConfigDict(extra="forbid")

    # The seeds: 95 % first-contact resolution, 3-minute average first response, 85/100 satisfaction,
    # 98 % availability.
    fcr: float | None = Field(0.95, ge=0, le=1, description="first-contact resolution rate")
    first_response_s: float | None = Field(180, gt=0, description="mean first response time, seconds")
    csat_score_100: float | None = Field(85, ge=0, le=100, description="mean rating on a 100-point scale")
    availability: float | None = Field(0.98, ge=0, le=1, description="share of healthy minutes")
    resolution_s: float | None = Field(None, gt=0, description="median full resolution time, seconds")
    csat_percent_satisfied: float | None = Field(None, ge=0, le=1, description="share of 4-5 ratings")
    bot_resolution: float | None = Field(None, ge=0, le=1, description="bot resolution rate")
    sla_first_response: float | None = Field(None, ge=0, le=1, description="tickets meeting 1st-response SLA")
    sla_resolution: float | None = Field(None, ge=0, le=1, description="tickets meeting resolution SLA")
