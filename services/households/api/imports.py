"""Routes of the bulk imports: households (``POST /imports/households``) and surveys
(``POST /imports/assessments``), both all valid or nothing written."""

from __future__ import annotations

from fastapi import APIRouter

from services.households.commands import assessment_import, household_import
from services.households.settings import SERVICE
from shared.import_routes import FileImport, add_import_route

router = APIRouter(tags=["imports"])

add_import_route(
    router,
    FileImport(
        path="/imports/households",
        service=SERVICE,
        what="households",
        unit="household",
        task="households.import",
        name="import_households",
        description=(
            "Register households from a CSV, JSON or NDJSON file: all valid or nothing written."
        ),
        validate=household_import.validate_file,
        write=household_import.import_file,
    ),
)
add_import_route(
    router,
    FileImport(
        path="/imports/assessments",
        service=SERVICE,
        what="assessments",
        unit="assessment",
        task="households.assessments_import",
        name="import_assessments",
        description="Record surveys from a CSV, JSON or NDJSON file: all valid or nothing written.",
        validate=assessment_import.validate_file,
        write=assessment_import.import_file,
    ),
)
