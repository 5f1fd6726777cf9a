"""What checking a file costs (app.files_check.check): the bytes read, a photo decoded once (a
JPEG at 1/8 scale) and its 320 px thumbnail made; and how fast refusals are (a decompression
bomb and an executable are refused before any pixel is decoded).

Run: ``python -m bench.files_bench [--rounds 20]``. Prints p50 / p95 milliseconds per kind and
the peak memory of this process.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import time
from collections.abc import Callable

from PIL import Image

from app.files_check import FileRefused, check
from bench.figures import pct

CAP = 10 * 1024 * 1024


def _photo(width: int, height: int, fmt: str) -> bytes:
    # Noise compresses badly: a worst case for the decoder, as a phone photo is.
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, fmt, quality=80) if fmt == "JPEG" else image.save(out, fmt)
    return out.getvalue()


def _bomb() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def cases() -> dict[str, bytes]:
    return {
        "jpeg 12 Mpx (4000x3000)": _photo(4000, 3000, "JPEG"),
        "png 2 Mpx (1600x1200)": _photo(1600, 1200, "PNG"),
        "webp 2 Mpx (1600x1200)": _photo(1600, 1200, "WEBP"),
        "pdf 5 MB": b"%PDF-1.7\n" + os.urandom(5 * 1024 * 1024) + b"\n%%EOF\n",
        "bomb png 100000x100000 (refused)": _bomb(),
        "exe as .jpg (refused)": b"MZ" + os.urandom(200_000),
    }


def timed(run: Callable[[], object], rounds: int) -> list[float]:
    values = []
    for _ in range(rounds):
        start = time.perf_counter()
        with contextlib.suppress(FileRefused):
            run()
        values.append(time.perf_counter() - start)
    return values


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    for name, data in cases().items():
        values = timed(lambda data=data: check(data, "file", CAP), args.rounds)  # type: ignore[misc]
        print(
            f"{name:36} {len(data) / 1024:8.0f} KB   p50 {pct(values, 50) * 1000:7.1f} ms"
            f"   p95 {pct(values, 95) * 1000:7.1f} ms"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
