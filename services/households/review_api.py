"""Review process API (periodic review, complaints, applications, escape)."""

from fastapi import APIRouter

router = APIRouter(tags=["reviews"])
