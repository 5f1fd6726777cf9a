"""HTML mail made safe to show (nh3) and readable as plain text (for ``InboundMessage.text``)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

_REMOTE = ("http:", "https:", "//", "ftp:")


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    # Remote images are tracking pixels and leak the adviser's IP: drop the source, keep the alt.
    if tag == "img" and attribute == "src" and value.strip().lower().startswith(_REMOTE):
        return None
    return value


def sanitise_html(html: str) -> str:
    """Scripts, styles, event handlers and remote images removed; links get rel=noopener."""
    return nh3.clean(
        html,
        clean_content_tags={"script", "style", "title", "head", "noscript", "template"},
        attribute_filter=_keep_attribute,
        url_schemes={"http", "https", "mailto", "tel", "cid"},
    )


_BLOCKS = {
    "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
    "blockquote", "pre", "hr", "dl", "dt", "dd", "section", "article", "header", "footer",
}  # fmt: skip
_SKIP = {"script", "style", "head", "title", "noscript", "template"}


class _TextRenderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.quote_depth = 0
        self.skip_depth = 0
        self.pre = 0

    def _newline(self) -> None:
        if self.lines[-1].strip() or (len(self.lines) > 1 and self.lines[-2].strip()):
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip_depth += 1
        elif tag == "br":
            self.lines.append("")
        elif tag in _BLOCKS:
            self._newline()
            if tag == "blockquote":
                self.quote_depth += 1
            if tag == "pre":
                self.pre += 1
            if tag == "li":
                self.lines[-1] += "- "

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCKS:
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self._newline()

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.quote_depth and not self.lines[-1]:
            # <blockquote> becomes ">"-prefixed lines, so quote detection works on HTML mail.
            data = data.lstrip()
            if not data:
                return
            self.lines[-1] = "> " * self.quote_depth
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
            if not self.lines[-1]:
                data = data.lstrip()
        parts = data.split("\n")
        self.lines[-1] += parts[0]
        for part in parts[1:]:
            self.lines.append(part)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines).strip()


def html_to_text(html: str) -> str:
    renderer = _TextRenderer()
    try:
        renderer.feed(html)
        renderer.close()
    except Exception:  # HTMLParser is lenient; a crash here must never lose the mail
        return re.sub(r"<[^>]*>", " ", html)
    text = renderer.text()
    return re.sub(r"\n{3,}", "\n\n", text)


_ENRICHED_COMMAND = re.compile(r"<(/?)([A-Za-z0-9-]{1,60})>")
_ENRICHED_SKIP = {"param", "comment"}


def enriched_to_text(enriched: str) -> str:
    """text/enriched (RFC 1896) as plain text: commands dropped, ``<<`` is ``<``.

    Its line rule: a lone line break is a space, n breaks in a row are n - 1 (outside
    ``<nofill>``, kept simple here: a blank line is a paragraph).
    """
    out: list[str] = []
    skip = 0
    position = 0
    text = enriched.replace("\r\n", "\n").replace("<<", "\x00")
    for match in _ENRICHED_COMMAND.finditer(text):
        if not skip:
            out.append(text[position : match.start()])
        closing, name = match.group(1), match.group(2).lower()
        if name in _ENRICHED_SKIP:
            skip = max(0, skip - 1) if closing else skip + 1
        position = match.end()
    if not skip:
        out.append(text[position:])
    flat = "".join(out).replace("\x00", "<")
    flat = re.sub(r"\n(\n*)", lambda m: m.group(1) or " ", flat)
    return "\n".join(line.rstrip() for line in flat.split("\n")).strip()
