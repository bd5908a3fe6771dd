"""HTTP routes of the insurance service, one module per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.insurance.api import (
    cards,
    entitlements,
    exchange,
    persons,
    policies,
    sweeps,
    worklists,
)

#: In the order the routes were always registered (the OpenAPI document keeps it).
ROUTERS: list[APIRouter] = [
    policies.router,
    persons.router,
    entitlements.router,
    cards.router,
    worklists.router,
    sweeps.router,
    exchange.router,
]
