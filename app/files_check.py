"""What a file is, read from its bytes: a photo (JPEG, PNG, GIF, WebP) or a PDF, or refused.

Neither the file's name nor the type its sender declared is believed: an executable renamed
``photo.jpg`` is no photo. Images are opened by Pillow restricted to the four formats (never its
other plugins, some of which run external programs), their declared size checked before any
pixel is decoded (a decompression bomb declares 100,000 × 100,000 pixels in a few bytes), then
decoded once — at an eighth of their size for JPEG — to prove they are whole and to make the
thumbnail the inbox shows. SVG is refused: it is a document that can carry script.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format name -> the type files are served as.
RASTER = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
RASTER_TYPES = frozenset(RASTER.values())
PDF = "application/pdf"
EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    PDF: (".pdf",),
}
# Pixels an image may declare. A JPEG is decoded at 1/8 of its size, so a 48-megapixel phone
# photo costs under a megapixel; the other formats are decoded whole (4 bytes a pixel).
MAX_JPEG_PIXELS = 100_000_000
MAX_PIXELS = 30_000_000
THUMBNAIL_PX = 320
# HEIF's brands (an iPhone's photos): recognised to say why they are refused, since no decoder
# is installed to verify them or make a thumbnail.
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif")
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')


class FileRefused(Exception):
    """A file that is not accepted; ``code`` is the reason (``files.error.<code>`` for staff,
    ``widget.files.error.<code>`` for a visitor), ``params`` fill its placeholders."""

    def __init__(self, code: str, status: int = 422, **params: str) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.params = params


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """A file proven to be what ``content_type`` says, with its thumbnail if it is a photo."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)
    thumbnail: bytes | None = field(default=None, repr=False)

    @property
    def image(self) -> bool:
        return self.content_type in RASTER_TYPES


def check(data: bytes, filename: str, max_bytes: int) -> CheckedFile:
    """The file if it is a whole photo or PDF of at most ``max_bytes``; else ``FileRefused``."""
    if not data:
        raise FileRefused("empty")
    if len(data) > max_bytes:
        raise FileRefused("too_large", 413, max=human_size(max_bytes))
    if is_pdf(data):
        if b"%%EOF" not in data[-2048:]:  # cut short: the end of a PDF says where its parts are
            raise FileRefused("corrupt")
        return CheckedFile(safe_filename(filename, PDF), PDF, data)
    if _is_heif(data):
        raise FileRefused("heic")
    content_type, thumbnail = _image(data)
    return CheckedFile(safe_filename(filename, content_type), content_type, data, thumbnail)


def is_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-")


def _is_heif(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


def raster_type(data: bytes) -> str | None:
    """The image type of ``data`` from its header alone (no pixel decoded), None if it is none
    of the four: what a stored file may be served as inline."""
    try:
        with _opened(data) as image:
            return RASTER.get(image.format or "")
    except FileRefused:
        return None


def served_type(data: bytes) -> str:
    """The type a stored file is served with: what its bytes are, else an opaque download."""
    if is_pdf(data):
        return PDF
    return raster_type(data) or "application/octet-stream"


class _opened:
    """``Image.open`` limited to the four formats and to a sane declared size."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.image: Image.Image | None = None

    def __enter__(self) -> Image.Image:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(self.data), formats=list(RASTER))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise FileRefused("too_many_pixels") from exc
        except UnidentifiedImageError as exc:
            raise FileRefused("type", 415) from exc
        except (OSError, ValueError, SyntaxError, EOFError) as exc:  # a broken header
            raise FileRefused("corrupt") from exc
        width, height = image.size
        limit = MAX_JPEG_PIXELS if image.format == "JPEG" else MAX_PIXELS
        if width <= 0 or height <= 0 or width * height > limit:
            image.close()
            raise FileRefused("too_many_pixels")
        self.image = image
        return image

    def __exit__(self, *exc: object) -> None:
        if self.image is not None:
            self.image.close()


def _image(data: bytes) -> tuple[str, bytes]:
    """The image's type and a JPEG thumbnail of at most ``THUMBNAIL_PX`` a side."""
    with _opened(data) as image:
        content_type = RASTER[image.format or ""]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                if image.format == "JPEG":  # decoded at 1/2..1/8 scale, enough for 320 px
                    image.draft("RGB", (THUMBNAIL_PX * 2, THUMBNAIL_PX * 2))
                image.load()  # every byte decoded: a truncated or corrupt file fails here
                return content_type, thumbnail_of(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise FileRefused("too_many_pixels") from exc
        except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
            raise FileRefused("corrupt") from exc


def thumbnail_of(image: Image.Image) -> bytes:
    """A small JPEG of a loaded image, turned upright (a phone's EXIF orientation), its
    transparency laid on white; re-encoded, so nothing of the original's metadata remains."""
    upright = ImageOps.exif_transpose(image) or image
    upright.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    rgba = upright.convert("RGBA")
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, "JPEG", quality=82, optimize=True)
    return out.getvalue()


def thumbnail_from(data: bytes) -> bytes | None:
    """A thumbnail made now from stored bytes (a photo that came by e-mail has none stored),
    None when the bytes are no whole image."""
    try:
        return _image(data)[1]
    except FileRefused:
        return None


def safe_filename(name: str, content_type: str) -> str:
    """The sender's file name without folders, control or reserved characters, at most 200
    characters, ending in an extension of what the file really is (a PDF named ``x.html``
    would open as a web page once saved)."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = _UNSAFE_NAME.sub("_", base).strip(" .") or "file"
    extensions = EXTENSIONS.get(content_type, ())
    stem, dot, ext = base.rpartition(".")
    if extensions and not (dot and f".{ext.lower()}" in extensions):
        stem = base if not dot else stem
        base = f"{stem}{extensions[0]}"
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = f"{stem[: 199 - len(ext)]}.{ext}" if dot and len(ext) <= 8 else base[:200]
    return base


def human_size(size: int) -> str:
    """10485760 -> "10 MB" (binary units, as file managers mostly show them)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{max(1, round(size / 1024))} KB"
