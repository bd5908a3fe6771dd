"""Routes of support applications: receive one with its eligibility decision, read them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from services.housing import commands, queries
from services.housing.schemas import ApplicationIn, ApplicationOut
from shared.auth import CurrentPrincipal
from shared.service import SessionDep

router = APIRouter(tags=["housing"])


@router.post("/applications", status_code=status.HTTP_201_CREATED, response_model=ApplicationOut)
async def apply_for_support(
    body: ApplicationIn, principal: CurrentPrincipal, session: SessionDep
) -> ApplicationOut:
    """Receive a household's application and decide eligibility; a refusal names each rule."""
    return await commands.apply_for_support(session, principal, body)


@router.get("/applications/{application_id}", response_model=ApplicationOut)
async def read_application(
    application_id: str, principal: CurrentPrincipal, session: SessionDep
) -> ApplicationOut:
    """One application with its decision, list and loan."""
    return await queries.read_application(session, principal, application_id)


@router.get("/applications", response_model=list[ApplicationOut])
async def list_applications(
    principal: CurrentPrincipal,
    session: SessionDep,
    commune_code: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
    status_: Annotated[
        str | None, Query(alias="status", pattern=r"^(eligible|refused|listed|approved)$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ApplicationOut]:
    """Applications the caller may read, oldest first."""
    return await queries.list_applications(session, principal, commune_code, status_, limit)
