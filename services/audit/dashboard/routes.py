"""The dashboard's routers, in the order the audit app mounts them (pages: see the package)."""

from __future__ import annotations

from fastapi import APIRouter

from services.audit.dashboard import assets, drilldown, findings, household, login, pages, proofs

routers: list[APIRouter] = [
    assets.router,
    login.router,
    pages.router,
    drilldown.router,
    household.router,
    findings.router,
    proofs.router,
]
