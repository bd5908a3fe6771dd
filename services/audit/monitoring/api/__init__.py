"""The monitoring routes: ``/views/…`` (:mod:`.views`) and ``/findings…`` (:mod:`.findings`).

Inspectors, partners and admins read every commune; operators read their own communes
(asking for another is a 403; without ``commune_code`` they get theirs only). Evaluating
findings and rebuilding the read models are for admins.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.audit.monitoring.api import findings, views

routers: list[APIRouter] = [views.router, findings.router]
