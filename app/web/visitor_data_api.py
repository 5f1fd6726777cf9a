"""Routes of the visitor's side (see the module named in the docstring's first line)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
