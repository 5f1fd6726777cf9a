"""One action on many conversations at once: resolve, reopen, assign, transfer, or (managers)
mark as spam and restore (app.moderation_actions).

Each conversation goes through the same action as alone (same checks, events and activity
lines). Those the user cannot see, erased ones, and those their action refuses or would leave
unchanged are skipped, untouched. The assignment passes the actions would each run are run once
per office at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app import actions, assign, moderation_actions
from app.actions import ActionError
from app.assignment import assign_waiting
from app.models import Conversation, ConversationStatus, Office, User
from app.moderation import may_manage
from app.services import Services

MAX_IDS = 200
ACTIONS = ("resolve", "reopen", "assign", "transfer", "spam", "not_spam")


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    skipped: int = 0


async def check_bulk(
    services: Services,
    user: User,
    ids: Sequence[int],
    action: str,
    office_id: int | None,
    colleague_id: int | None,
    note: str = "",
) -> None:
    """Refuses what no conversation could accept (422): too many ids, an unknown action, an
    office or colleague outside the destination."""
    if len(ids) > MAX_IDS:
        raise ActionError("error.bulk_too_many")
    if action not in ACTIONS:
        raise ActionError("error.bulk_unknown_action")
    if action in ("spam", "not_spam") and not may_manage(user):
        raise ActionError("error.managers_only", 403)
    if len(note) > services.settings.max_message_chars:
        raise ActionError("error.message_too_long")
    async with services.db.session() as session:
        if action == "transfer":
            target = await session.get(Office, office_id) if office_id is not None else None
            if target is None or target.destination_id != user.destination_id:
                raise ActionError("error.unknown_office")
        if action == "assign" and colleague_id is not None:
            await assign.check_colleague(session, user, colleague_id)


async def run_bulk(
    services: Services,
    user: User,
    ids: Sequence[int],
    action: str,
    office_id: int | None = None,
    colleague_id: int | None = None,
    note: str = "",
) -> BulkResult:
    """Applies ``action`` to each conversation in turn; ``done`` lists those it changed."""
    await check_bulk(services, user, ids, action, office_id, colleague_id, note)
    result = BulkResult()
    if action == "spam":  # one transaction for a flood's hundreds; no queue moves
        unique = list(dict.fromkeys(ids))
        marked = set(await moderation_actions.spam_many(services, user, unique))
        result.done = [i for i in unique if i in marked]
        result.skipped = len(unique) - len(result.done)
        return result
    offices: set[tuple[int, int]] = set()  # (destination, office) whose queue may move
    for conversation_id in dict.fromkeys(ids):  # once each, in the order given
        try:
            if action in ("resolve", "reopen"):
                status = (
                    ConversationStatus.RESOLVED if action == "resolve" else ConversationStatus.OPEN
                )
                conversation, changed = await actions.change_status(
                    services, user, conversation_id, status, assign=False
                )
            elif action in ("spam", "not_spam"):
                view, changed = await moderation_actions.mark_spam(
                    services, user, conversation_id, action == "spam", assign=False
                )
                conversation = await _reread(services, view.id)
            elif action == "assign":
                conversation, changed = await assign.assign_to(
                    services, user, conversation_id, colleague_id, assign=False
                )
            else:
                assert office_id is not None
                conversation = await actions.transfer(
                    services, user, conversation_id, office_id, note, assign=False
                )
                changed = True
        except ActionError:
            result.skipped += 1
            continue
        if not changed:
            result.skipped += 1
            continue
        result.done.append(conversation_id)
        offices.add((conversation.destination_id, conversation.office_id))
    for destination_id, office in sorted(offices):
        await assign_waiting(services, destination_id, office)
    return result


async def _reread(services: Services, conversation_id: int) -> Conversation:
    async with services.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None
    return conversation
