"""The insights endpoints: a policy's label, a comparison of labels, a version diff.

Same contract as /api/ask: errors are ``{"error": "..."}``, store outages are 503, and each
request takes a token from the same per-client bucket (429 + Retry-After when empty).
"""
from __future__ import annotations

import math

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from index.errors import NoLabelError, UnknownPolicy, UnknownVersion, VersionError
from insights.service import Insights
from ui.api import CitationOut, ErrorOut, services_of
from ui.security import client_key
from ui.service import ApiError

router = APIRouter()
ERRORS = {code: {"model": ErrorOut} for code in (404, 409, 422, 429, 503)}  # 409: nothing to compare


# --- response models (the documented JSON; docs/labels.md) --------------------------------
class FactOut(BaseModel):
    kind: str = Field(description="duration, email, url, phone, org, country, age, money or date")
    text: str
    citation: int = Field(description="1-based index into the row's citations")


class LabelRowOut(BaseModel):
    key: str = Field(description="collect, use, share, choice, access, retention, security, children, "
                     "international, change, dnt or contact")
    title: str
    stated: bool
    summary: str = Field(description="one extractive line, or \"Not stated\"")
    score: float = Field(description="the best passage's score for this practice")
    threshold: float = Field(description="the calibrated score under which the row reads \"Not stated\"")
    citations: list[CitationOut]
    facts: list[FactOut]


class LabelOut(BaseModel):
    schema_: str = Field(alias="schema", description="policychat.label/1")
    policy: str
    title: str
    version: str | None
    current: bool
    labeler: str = Field(description="the model and calibration that built the label")
    rows: list[LabelRowOut]


class CellOut(BaseModel):
    text: str = Field(description="the row's key fact, or \"not stated\"")
    stated: bool
    citation: int | None = Field(description="number in `citations`")
    flags: list[str] = Field(description="not_stated, no_deletion_route, most_third_parties")


class CompareRowOut(BaseModel):
    key: str
    title: str
    cells: list[CellOut]


class NumberedCitationOut(CitationOut):
    n: int


class ComparedPolicyOut(BaseModel):
    policy: str
    title: str
    version: str | None


class CompareOut(BaseModel):
    schema_: str = Field(alias="schema", description="policychat.compare/1")
    policies: list[ComparedPolicyOut]
    rows: list[CompareRowOut]
    citations: list[NumberedCitationOut]


class DiffSentenceOut(CitationOut):
    elsewhere: str | None = Field(description="the section of the other version holding the same sentence")


class DiffSideOut(BaseModel):
    section: str
    start: int
    end: int


class DiffSectionOut(BaseModel):
    status: str = Field(description="added, removed, changed or unchanged (listed when moved)")
    moved: bool
    similarity: float
    old: DiffSideOut | None
    new: DiffSideOut | None
    added: list[DiffSentenceOut]
    removed: list[DiffSentenceOut]


class DiffOut(BaseModel):
    schema_: str = Field(alias="schema", description="policychat.diff/1")
    policy: str
    title: str
    from_: str | None = Field(alias="from")
    to: str | None
    counts: dict[str, int]
    sections: list[DiffSectionOut]


# --- helpers ------------------------------------------------------------------------------
def insights_of(request: Request):
    """One Insights per app (labels cached in it), over the context's current store."""
    state = request.app.state
    if getattr(state, "insights", None) is None:
        ctx = services_of(request).ctx
        state.insights = Insights(lambda: ctx.store)
    return state.insights


def metered(request: Request):
    """The /api/ask bucket: one token per request."""
    services = services_of(request)
    wait = services.limiter.take(client_key(request.scope))
    if wait > 0:
        retry = max(1, math.ceil(wait))
        raise ApiError(429, f"too many requests; try again in {retry} s", {"Retry-After": str(retry)})
    return services


def run(request: Request, fn):
    services = metered(request)
    with services.store_guard():
        try:
            return fn(insights_of(request)).to_dict()
        except (UnknownPolicy, UnknownVersion) as exc:  # no such policy, no such version: not found
            raise ApiError(404, str(exc).strip("'\"")) from None
        except VersionError as exc:  # one version only, the same version twice: nothing to compare
            raise ApiError(409, str(exc).strip("'\"")) from None
        except (NoLabelError, ValueError) as exc:
            raise ApiError(422, str(exc).strip("'\"")) from None


# --- routes -------------------------------------------------------------------------------
@router.get("/api/policies/{policy_id}/label", response_model=LabelOut, response_model_by_alias=True,
            responses=ERRORS, tags=["insights"], summary="A policy's privacy label, every row cited")
def label(request: Request, policy_id: str,
          version: str | None = Query(None, max_length=100, description="a version label (default: current)")):
    return run(request, lambda ins: ins.label(policy_id, version or None))


@router.get("/api/compare", response_model=CompareOut, response_model_by_alias=True, responses=ERRORS,
            tags=["insights"], summary="Compare policies' labels: practices as rows, policies as columns")
def compare(request: Request, ids: str = Query(..., max_length=1000,
                                               description="comma-separated policy ids, 2 to 8 different ones",
                                               examples=["aliexpress,alibaba"])):
    wanted = [p.strip() for p in ids.split(",") if p.strip()]
    return run(request, lambda ins: ins.compare(wanted))


@router.get("/api/policies/{policy_id}/diff", response_model=DiffOut, response_model_by_alias=True,
            responses=ERRORS, tags=["insights"], summary="What changed between two versions of a policy")
def diff(request: Request, policy_id: str,
         from_: str | None = Query(None, alias="from", max_length=100, description="older version label "
                                   "(default: the one before `to`)"),
         to: str | None = Query(None, max_length=100, description="newer version label (default: current)")):
    return run(request, lambda ins: ins.diff(policy_id, from_ or None, to or None))
