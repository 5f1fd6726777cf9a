"""HTTP routes of app.labels: filled by its module."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
