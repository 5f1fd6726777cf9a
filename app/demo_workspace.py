"""The demo's workspace: labels, keyword rules, prepared answers, visitor profiles and
satisfaction surveys, added once the demo destination (and its history, when asked for) exists."""

from __future__ import annotations

from sqlmodel import select

from app import answers, contact_demo, labels, rules, survey_demo
from app.db import Database
from app.models import Destination


async def seed_workspace(db: Database) -> None:
    """Seeds each domain's demo data, in the order they build on one another: labels first
    (rules label with them), then rules, answers, profiles and surveys (of the history's
    resolved conversations). Each seed is idempotent."""
    async with db.session() as session:
        destination = (await session.exec(select(Destination))).first()
        if destination is None or destination.id is None:
            return
        seeds = (
            labels.seed_demo,
            rules.seed_demo,
            answers.seed_demo,
            contact_demo.seed_demo,
            survey_demo.seed_demo,
        )
        for seed in seeds:
            await seed(session, destination.id)
            await session.commit()
