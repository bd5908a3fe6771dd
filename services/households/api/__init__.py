"""The households service over HTTP: one route module per resource, `ROUTERS` in the order
the app includes them."""

from __future__ import annotations

from fastapi import APIRouter

from services.households.api import (
    applications,
    assessments,
    complaints,
    households,
    imports,
    personal_data,
    reviews,
)

ROUTERS: list[APIRouter] = [
    households.router,
    personal_data.router,
    assessments.router,
    reviews.router,
    complaints.router,
    applications.router,
    imports.router,
]

__all__ = ["ROUTERS"]
