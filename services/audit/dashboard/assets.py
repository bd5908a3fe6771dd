"""The dashboard's own stylesheet, script and icon, served from this service (no CDN).

Only the files present in ``services/audit/static`` when the service starts are served,
looked up by exact name, so no request path can reach another file.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from services.audit.dashboard.rendering import SECURITY_HEADERS
from shared.problems import NotFound

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: name -> (bytes, media type), read once: the files are small and never change while running.
ASSETS: dict[str, tuple[bytes, str]] = {
    path.name: (path.read_bytes(), MEDIA_TYPES[path.suffix])
    for path in sorted(STATIC_DIR.iterdir())
    if path.is_file() and path.suffix in MEDIA_TYPES
}

router = APIRouter(include_in_schema=False)


@router.get("/static/{name}")
async def static_asset(name: str) -> Response:
    """A stylesheet, script or icon of the dashboard."""
    asset = ASSETS.get(name)
    if asset is None:
        raise NotFound(f"no asset {name}")
    body, media_type = asset
    headers = dict(SECURITY_HEADERS) | {"Cache-Control": "no-cache"}
    return Response(body, media_type=media_type, headers=headers)
