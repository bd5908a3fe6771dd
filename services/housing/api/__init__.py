"""The housing service over HTTP: one route module per resource, `ROUTERS` in the order the
app includes them (the loan and construction routes come from the loans family)."""

from __future__ import annotations

from fastapi import APIRouter

from services.housing.api import applications, households, lists, policies
from services.housing.loans import api as loans

ROUTERS: list[APIRouter] = [
    applications.router,
    households.router,
    policies.router,
    lists.router,
    loans.router,
]

__all__ = ["ROUTERS"]
