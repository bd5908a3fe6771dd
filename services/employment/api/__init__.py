"""The employment HTTP API: one router per resource, in the order the app mounts them."""

from __future__ import annotations

from services.employment.api import imports, placements, targets, training, workers

ROUTERS = [
    workers.router,
    placements.router,
    training.router,
    targets.router,
    imports.router,
]
