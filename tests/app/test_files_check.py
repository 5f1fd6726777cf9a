"""What a file is, from its bytes alone (app.files_check), and how its name is served."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.files_check import THUMBNAIL_PX, FileRefused, check, safe_filename, served_type
from app.web.files_api import content_disposition
from tests.app import files_support as crafted

CAP = 10 * 1024 * 1024


def image(mode: str, fmt: str, size: tuple[int, int] = (1200, 900), **options: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (image("CMYK", "JPEG"), "image/jpeg"),  # a print shop's photo
        (image("L", "JPEG"), "image/jpeg"),
        (image("LA", "PNG"), "image/png"),
        (image("I;16", "PNG"), "image/png"),
        (image("1", "PNG"), "image/png"),
        (image("P", "PNG", transparency=0), "image/png"),
        (image("RGBA", "WEBP"), "image/webp"),
        (image("RGBA", "GIF"), "image/gif"),
    ],
)
def test_photos_of_every_mode_get_a_small_jpeg_thumbnail(data: bytes, content_type: str) -> None:
    checked = check(data, "photo", CAP)
    assert checked.content_type == content_type and checked.image
    assert checked.thumbnail is not None
    with Image.open(io.BytesIO(checked.thumbnail)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= THUMBNAIL_PX


def test_an_animated_gif_is_a_photo() -> None:
    frames = [Image.new("P", (60, 60), i) for i in range(4)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    assert check(out.getvalue(), "a.gif", CAP).content_type == "image/gif"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (crafted.exe(), "type"),
        (crafted.SVG, "type"),
        (crafted.HTML, "type"),
        (crafted.ZIP, "type"),
        (image("RGB", "BMP"), "type"),  # Pillow reads it, but only four formats are opened
        (image("RGB", "TIFF"), "type"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "type"),  # never Ghostscript
        (crafted.png_bomb(), "too_many_pixels"),
        (crafted.png_bomb(10_000, 10_000), "too_many_pixels"),
        (crafted.jpeg()[:-200], "corrupt"),
        (crafted.pdf()[:-10], "corrupt"),
        (b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00heicmif1", "heic"),
        (b"", "empty"),
    ],
)
def test_refusals_name_their_reason(data: bytes, code: str) -> None:
    with pytest.raises(FileRefused) as refused:
        check(data, "photo.jpg", CAP)
    assert refused.value.code == code


def test_the_cap_holds() -> None:
    with pytest.raises(FileRefused) as refused:
        check(crafted.jpeg(), "photo.jpg", 1000)
    assert refused.value.status == 413 and refused.value.params == {"max": "1 KB"}


@pytest.mark.parametrize(
    ("name", "content_type", "safe"),
    [
        ("plage.jpg", "image/jpeg", "plage.jpg"),
        ("PLAGE.JPEG", "image/jpeg", "PLAGE.JPEG"),
        ("invoice.exe", "application/pdf", "invoice.pdf"),
        ("page.html", "application/pdf", "page.pdf"),
        ("C:\\Users\\ana\\plan.pdf", "application/pdf", "plan.pdf"),
        ("../../etc/passwd", "image/png", "passwd.png"),
        ("..", "image/png", "file.png"),
        ('a"b<c>|d.png', "image/png", "a_b_c_d.png"),
        ("x" * 300 + ".pdf", "application/pdf", "x" * 196 + ".pdf"),
    ],
)
def test_names_are_made_safe_and_match_what_the_file_is(
    name: str, content_type: str, safe: str
) -> None:
    assert safe_filename(name, content_type) == safe


def test_a_stored_file_is_served_as_what_its_bytes_are() -> None:
    assert served_type(crafted.jpeg()) == "image/jpeg"
    assert served_type(crafted.pdf()) == "application/pdf"
    assert served_type(crafted.HTML) == "application/octet-stream"
    assert served_type(crafted.SVG) == "application/octet-stream"


def test_content_disposition_keeps_to_one_safe_header() -> None:
    header = content_disposition('évasion "été"\r\n\u202egpj.exe')
    assert header.startswith('attachment; filename="')
    assert "\r" not in header and "\n" not in header and "\u202e" not in header
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and '"' not in fallback
    assert "filename*=UTF-8''%C3%A9vasion%20%22%C3%A9t%C3%A9%22gpj.exe" in header
    assert content_disposition("plage.jpg", inline=True).startswith("inline;")
