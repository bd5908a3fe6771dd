"""Bulk import of households from CSV or JSON."""

from fastapi import APIRouter

router = APIRouter(tags=["imports"])
