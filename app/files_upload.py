"""Reading one uploaded file (``multipart/form-data``: ``file``, optional ``text`` and
``client_id``) without ever holding more than the size cap.

The body is read as a stream and the reading stops as soon as it passes the cap plus a little
for the form's other fields: a declared ``Content-Length`` over it is refused before reading,
and a body sent without one (chunked) is cut where it passes it. Starlette's multipart parser
gets the bounded stream; it keeps a file part in memory up to 1 MB, then in a temporary file.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from app.files_check import FileRefused, human_size

FORM_OVERHEAD = 64 * 1024  # the parts' headers, boundaries, and the fields besides the file


@dataclass(frozen=True, slots=True)
class Upload:
    """What the form carried: the file's bytes (at most the cap) and name, and the fields."""

    filename: str
    data: bytes = field(repr=False)
    text: str = ""
    client_id: str = ""


async def read_upload(request: Request, max_bytes: int, max_text_chars: int) -> Upload:
    """The upload, or ``FileRefused`` (413 over the cap, 422 for a form without a file)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise FileRefused("no_file")
    limit = max_bytes + FORM_OVERHEAD + 4 * max_text_chars
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FileRefused("too_large", 413, max=human_size(max_bytes))
    parser = MultiPartParser(
        request.headers, _bounded(request, limit, max_bytes), max_files=1, max_fields=4
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise FileRefused("no_file") from exc
    except ClientDisconnect as exc:  # the sender gave up: nothing to answer, nothing kept
        raise FileRefused("no_file", 400) from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise FileRefused("no_file")
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise FileRefused("too_large", 413, max=human_size(max_bytes))
        text, client_id = form.get("text", ""), form.get("client_id", "")
        return Upload(
            filename=upload.filename or "",
            data=data,
            text=text if isinstance(text, str) else "",
            client_id=client_id if isinstance(client_id, str) else "",
        )
    finally:
        await form.close()


async def _bounded(request: Request, limit: int, max_bytes: int) -> AsyncGenerator[bytes, None]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise FileRefused("too_large", 413, max=human_size(max_bytes))
        yield chunk
