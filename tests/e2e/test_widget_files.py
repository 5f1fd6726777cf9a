"""Files both ways in Chromium, the widget on an office's own site (another origin): the visitor
sends a photo, the adviser sees its thumbnail and sends a PDF back, the visitor downloads it;
a program disguised as a photo is refused with its reason, in the visitor's language."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.app import files_support as crafted
from tests.conftest import LiveServer, office_login
from tests.e2e.conftest import adviser_login, screenshot
from tests.e2e.host_site import host_site

BLOB = re.compile(r"^blob:")
INLINE = re.compile(r"^/api/attachments/\d+\?inline=1$")


def test_files_both_ways_from_another_site(
    live: LiveServer, new_page: object, tmp_path: Path
) -> None:
    with host_site(live) as site:
        visitor: Page = new_page(locale="fr-FR", viewport={"width": 390, "height": 844})  # type: ignore[operator]
        visitor.goto(site)
        widget = visitor.locator("[data-concierge-widget]")
        widget.get_by_test_id("widget-bubble").click()
        expect(widget.get_by_test_id("widget-attach")).to_have_attribute(
            "aria-label", "Joindre une photo ou un PDF"
        )
        widget.get_by_test_id("widget-input").fill("Bonjour, voici la plage où j'ai perdu mon sac")
        widget.get_by_test_id("widget-input").press("Enter")
        expect(widget.locator("[data-author=visitor]:not(.pending)").first).to_be_visible()

        widget.get_by_test_id("widget-input").fill("La photo :")
        widget.get_by_test_id("widget-file-input").set_input_files(
            files=[{"name": "plage.jpg", "mimeType": "image/jpeg", "buffer": crafted.jpeg()}]
        )
        thumb = widget.get_by_test_id("widget-file-thumbnail")
        expect(thumb).to_have_attribute("src", BLOB)
        visitor.wait_for_function(
            "() => { const w = document.querySelector('[data-concierge-widget]').shadowRoot;"
            " const i = w.querySelector('[data-testid=widget-file-thumbnail]');"
            " return i && i.complete && i.naturalWidth > 0; }"
        )
        expect(widget.get_by_test_id("widget-file").first).to_contain_text("plage.jpg")
        expect(widget.get_by_test_id("widget-input")).to_have_value("")

        # A program renamed photo.jpg: refused, the reason in French, nothing shown.
        widget.get_by_test_id("widget-file-input").set_input_files(
            files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": crafted.exe()}]
        )
        expect(widget.get_by_test_id("widget-status")).to_contain_text(
            "Seules les photos (JPEG, PNG, GIF, WebP) et les documents PDF"
        )
        expect(widget.get_by_test_id("widget-file")).to_have_count(1)
        # Over the cap: told at once, from the hello frame's limit, before anything is sent.
        widget.get_by_test_id("widget-file-input").set_input_files(
            files=[
                {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": b"\0" * (10 * 2**20 + 1)}
            ]
        )
        expect(widget.get_by_test_id("widget-status")).to_have_text(
            "Ce fichier est trop volumineux : 10 MB au maximum."
        )

        adviser: Page = new_page(locale="fr-FR")  # type: ignore[operator]
        adviser_login(adviser, live, office_login(live, "port-argent"))
        adviser.get_by_test_id("conversation-item").first.click()
        image = adviser.get_by_test_id("attachment-thumbnail")
        expect(image).to_be_visible()
        adviser.wait_for_function(
            "() => { const i = document.querySelector('[data-testid=attachment-thumbnail]');"
            " return i && i.complete && i.naturalWidth > 0; }"
        )
        expect(adviser.get_by_test_id("attachment-open")).to_have_attribute("href", INLINE)
        adviser.get_by_test_id("reply-text").fill("Voici le plan de la plage et du port.")
        adviser.get_by_test_id("attach-input").set_input_files(
            files=[{"name": "plan.pdf", "mimeType": "application/pdf", "buffer": crafted.pdf()}]
        )
        expect(adviser.locator("[data-testid=message][data-direction=out]").last).to_contain_text(
            "plan.pdf"
        )
        expect(adviser.get_by_test_id("reply-text")).to_have_value("")
        screenshot(adviser, "files-thread")

        sent = widget.locator("[data-author=adviser]").last
        expect(sent).to_contain_text("Voici le plan")
        button = sent.get_by_test_id("widget-file-download")
        expect(button).to_contain_text("plan.pdf")
        screenshot(visitor, "files-widget-phone")
        with visitor.expect_download() as download_info:
            button.click()
        download = download_info.value
        assert download.suggested_filename == "plan.pdf"
        saved = tmp_path / "plan.pdf"
        download.save_as(saved)
        assert saved.read_bytes() == crafted.pdf()
