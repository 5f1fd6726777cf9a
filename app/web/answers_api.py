"""HTTP routes of app.answers: filled by its module."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
