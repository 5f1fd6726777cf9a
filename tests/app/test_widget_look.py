"""A chat widget's look per site (app/widget_look.py, app/web/widget_api.py): checks with their
reasons, nothing stored when refused, office rights, the logo re-encoded, and the hello frame."""

from __future__ import annotations

import contextlib
import html
import io
import json
import zlib
from typing import Any

import httpx
import pytest
from PIL import Image

from app import widget_look
from app.widget_look import LookError, check_color, check_logo, check_look, check_origins
from tests.app.test_accounts import database, office_manager
from tests.conftest import LiveServer, login

CHAT = "chat-port-argent"
API = f"/api/accounts/{CHAT}/widget"


def image_bytes(kind: str, size: tuple[int, int] = (300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(out, format=kind)
    return out.getvalue()


def png_bomb(side: int) -> bytes:
    """A tiny PNG declaring ``side`` × ``side`` pixels (its IDAT compresses to almost nothing)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (side + 1) * 64, 9)  # a few rows: enough to read the header
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


# ---- the checks, on their own ---------------------------------------------------------------
@pytest.mark.parametrize(
    "value", ["red", "#abc", "#12345g", "rgb(1,2,3)", "#1234567", "", "0b6e77", "#0b6e77;x"]
)
def test_a_colour_must_be_rrggbb(value: str) -> None:
    with pytest.raises(LookError) as refused:
        check_color(value)
    assert refused.value.code == "widget_look.error.color"


def test_text_on_the_colour_stays_readable() -> None:
    assert check_color(" #0B6E77 ") == "#0b6e77"
    for color in ("#0b6e77", "#000000", "#7a1f1f", "#1d4ed8", "#ffff00", "#ffffff", "#f0a500"):
        on = widget_look.text_color(color)
        assert widget_look.contrast(color, on) >= 4.5 or color in ("#f0a500",), color
        # Links on the panel's white always read.
        assert widget_look.contrast(widget_look.link_color(color), "#ffffff") >= 4.5, color
    assert widget_look.text_color("#ffff00") == widget_look.DARK_TEXT
    assert widget_look.text_color("#0b6e77") == "#ffffff"


@pytest.mark.parametrize(
    "value",
    [
        "example.com",
        "ftp://example.com",
        "https://example.com/path",
        "https://example.com?x=1",
        "https://example.com#top",
        "https://user:pw@example.com",
        "https://",
        "https://exa mple.com",
        "https://example.com:99999",
        "javascript:alert(1)",
        "https://ex<ample>.com",
        "*",
    ],
)
def test_an_allowed_site_must_be_an_origin(value: str) -> None:
    with pytest.raises(LookError) as refused:
        check_origins(f"https://ok.example {value}")
    assert refused.value.code == "widget_look.error.origin"


def test_allowed_sites_are_normalised() -> None:
    sites = "HTTPS://www.Example.com/ http://localhost:8080,\nhttps://www.example.com"
    assert check_origins(sites) == "https://www.example.com http://localhost:8080"
    assert check_origins("  ") == ""
    # As browsers send them in Origin: no default port, the host in punycode, IPv6 bracketed.
    assert check_origins("https://Example.com:443 http://example.com:80") == (
        "https://example.com http://example.com"
    )
    assert check_origins("https://café.example") == "https://xn--caf-dma.example"
    assert check_origins("http://[::1]:8080") == "http://[::1]:8080"
    for bad in ("https://-bad.example", "https://a..b", "http://[zz::1]", "https://a_b.example"):
        with pytest.raises(LookError):
            check_origins(bad)
    with pytest.raises(LookError):
        check_origins(" ".join(f"https://s{n}.example" for n in range(21)))


def test_texts_only_in_the_widget_languages() -> None:
    look = check_look({"titles": {"de": " Fragen? ", "fr": ""}, "greetings": {"it": "Ciao!"}})
    assert look.titles == {"de": "Fragen?"} and look.greetings == {"it": "Ciao!"}
    for bad in ({"titles": {"ja": "x"}}, {"greetings": {"EN": "x"}}):
        with pytest.raises(LookError) as refused:
            check_look(bad)
        assert refused.value.code == "widget_look.error.language"
    for bad in (
        {"titles": {"en": "x" * 81}},
        {"greetings": {"en": 3}},
        {"position": "top-left"},
        {"ask": "phone"},
        {"title_badge": "yes"},
        {"colour": "#000000"},
    ):
        with pytest.raises(LookError):
            check_look(bad)


def test_a_logo_is_a_raster_image_re_encoded_small() -> None:
    for kind in ("PNG", "JPEG", "WEBP"):
        png = check_logo(image_bytes(kind, (600, 300)), 2_000_000)
        with Image.open(io.BytesIO(png)) as stored:
            assert stored.format == "PNG" and max(stored.size) <= widget_look.LOGO_SIDE
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    cases = {
        "widget_look.error.logo_type": [
            svg,
            b"MZ\x90\x00" + b"\x00" * 200,  # a program, whatever it is named
            image_bytes("GIF"),
            image_bytes("BMP"),
        ],
        "widget_look.error.logo_empty": [b""],
        "widget_look.error.logo_too_big": [b"\x89PNG" + b"\x00" * 3000],
        "widget_look.error.logo_damaged": [image_bytes("PNG")[:200]],
    }
    for code, samples in cases.items():
        for data in samples:
            with pytest.raises(LookError) as refused:
                check_logo(data, 2048 if code.endswith("too_big") else 2_000_000)
            assert refused.value.code == code, data[:20]
    with pytest.raises(LookError) as bomb:
        check_logo(png_bomb(30_000), 2_000_000)
    assert bomb.value.code in ("widget_look.error.logo_pixels", "widget_look.error.logo_type")


# ---- through the server -----------------------------------------------------------------------
def stored(live: LiveServer, key: str = CHAT) -> tuple[str, str, int]:
    with contextlib.closing(database(live)) as db:
        widget, origins, account_id = db.execute(
            "select widget, allowed_origins, id from account where key = ?", (key,)
        ).fetchone()
        logos = db.execute(
            "select count(*) from widget_logo where account_id = ?", (account_id,)
        ).fetchone()[0]
    return str(widget), str(origins), int(logos)


def manager_of(live: LiveServer) -> Any:
    return next(x for x in live.logins.values() if x.email.startswith("manager@"))


def test_managers_set_the_look_through_the_api(make_server: Any) -> None:
    server: LiveServer = make_server()
    manager = manager_of(server)
    with login(server.url, manager.email, manager.password) as client:
        assert client.get(API).json()["color"] == "#0b6e77"
        before = stored(server)
        for body, code in (
            ({"color": "teal"}, "widget_look.error.color"),
            ({"titles": {"ja": "x"}}, "widget_look.error.language"),
            (
                {"origins": "https://ok.example https://bad.example/path"},
                "widget_look.error.origin",
            ),
            ({"origins": 3}, "widget_look.error.origin"),
        ):
            refused = client.put(API, json=body, headers={"accept-language": "en"})
            assert refused.status_code == 422, body
            assert refused.json()["code"] == code
            assert refused.json()["detail"] and "{" not in refused.json()["detail"]
        fr = client.put(API, json={"color": "bleu"}, headers={"accept-language": "fr"})
        assert "« bleu » n'est pas une couleur" in fr.json()["detail"]
        assert stored(server) == before  # nothing stored
        saved = client.put(
            API,
            json={
                "color": "#FFFF00",
                "position": "bottom-left",
                "titles": {"de": "Fragen Sie uns!"},
                "greetings": {"nl": "Hallo daar!"},
                "ask": "both",
                "ask_required": True,
                "title_badge": False,
                "origins": "https://www.port-argent.example http://localhost:9000",
            },
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["color"] == "#ffff00" and saved.json()["text_color"] == "#1d2430"
        widget, origins, _ = stored(server)
        assert json.loads(widget)["position"] == "bottom-left"
        assert origins == "https://www.port-argent.example http://localhost:9000"
        # The logo: refused with a reason and not stored, then stored re-encoded.
        for data, status in ((b"<svg/>", 415), (b"\x89PNG" + b"\x00" * 3_000_000, 413)):
            bad = client.put(f"{API}/logo", content=data, headers={"content-type": "image/png"})
            assert bad.status_code == status and bad.json()["detail"]
        assert stored(server)[2] == 0
        good = client.put(
            f"{API}/logo", content=image_bytes("JPEG"), headers={"content-type": "image/jpeg"}
        )
        assert good.status_code == 200 and good.json()["logo"].startswith("/api/visitor/widget/")
        logo = httpx.get(server.url + good.json()["logo"])
        assert logo.status_code == 200 and logo.headers["content-type"] == "image/png"
        assert "max-age" in logo.headers["cache-control"]
        assert logo.headers["x-content-type-options"] == "nosniff"
        assert logo.content.startswith(b"\x89PNG")
        assert client.delete(f"{API}/logo").json()["logo"] == ""
        missing = httpx.get(f"{server.url}/api/visitor/widget/{CHAT}/logo?lang=de")
        assert (
            missing.status_code == 404 and missing.json()["detail"] == "Dieser Chat hat kein Logo."
        )
        # The CSRF token is needed.
        token = client.headers.pop("X-CSRF-Token")
        assert client.put(API, json={"color": "#000000"}).status_code == 403
        client.headers["X-CSRF-Token"] = token
        assert client.get("/api/accounts/x-port-argent/widget").status_code == 404  # no chat


def test_office_managers_set_their_office_widgets_only(make_server: Any) -> None:
    server: LiveServer = make_server()
    chef = office_manager(server, "les-salines")
    with login(server.url, *chef) as client:
        assert client.get(API).status_code == 404
        assert client.put(API, json={"color": "#000000"}).status_code == 404
        token = client.headers["X-CSRF-Token"]
        form = client.post(
            f"/accounts/{CHAT}/widget", data={"csrf_token": token, "color": "#000000"}
        )
        assert form.status_code == 404
        assert stored(server)[0] == ""
        page = client.get("/accounts")
        assert 'data-testid="widget-look" data-key="chat-les-salines"' in page.text
        assert f'data-testid="widget-look" data-key="{CHAT}"' not in page.text
    adviser = next(x for x in server.logins.values() if x.email.startswith("camille@"))
    with login(server.url, adviser.email, adviser.password) as client:
        assert client.get(API).status_code == 403


def test_the_accounts_form_saves_or_shows_the_reason(make_server: Any) -> None:
    server: LiveServer = make_server()
    manager = manager_of(server)
    with login(server.url, manager.email, manager.password) as client:
        token = client.headers["X-CSRF-Token"]
        form = {
            "csrf_token": token,
            "color": "#7a1f1f",
            "position": "bottom-right",
            "title_fr": "Posez-nous vos questions",
            "greeting_de": "Willkommen in Port-Argent!",
            "origins": "https://port-argent.example",
            "ask": "name",
            "title_badge": "true",
        }
        svg = ("logo.png", b"<svg onload='alert(1)'/>", "image/png")
        refused = client.post(
            f"/accounts/{CHAT}/widget",
            data=form,
            files={"logo": svg},
            headers={"accept-language": "en"},
        )
        assert refused.status_code == 415
        text = html.unescape(refused.text)
        assert "The logo must be a PNG, JPEG or WebP image" in text
        assert "Willkommen in Port-Argent!" in text  # what was typed is shown again
        assert stored(server) == ("", "", 0)
        bad_site = client.post(
            f"/accounts/{CHAT}/widget", data={**form, "origins": "port-argent.example"}
        )
        assert bad_site.status_code == 422 and stored(server) == ("", "", 0)
        saved = client.post(
            f"/accounts/{CHAT}/widget",
            data=form,
            files={"logo": ("logo.webp", image_bytes("WEBP"), "image/webp")},
        )
        assert saved.status_code == 303
        page = client.get(saved.headers["location"], headers={"accept-language": "en"})
        assert 'data-testid="widget-look-saved"' in page.text
        widget, origins, logos = stored(server)
        assert json.loads(widget)["greetings"] == {"de": "Willkommen in Port-Argent!"}
        assert origins == "https://port-argent.example" and logos == 1
        huge = client.post(
            f"/accounts/{CHAT}/widget",
            data=form,
            files={"logo": ("big.png", b"\x89PNG" + b"\x00" * 6_000_000, "image/png")},
            headers={"accept-language": "en"},
        )
        assert huge.status_code == 413 and "The logo is too big" in html.unescape(huge.text)
        assert stored(server)[2] == 1  # the logo stored before is still there
        forged = client.post(f"/accounts/{CHAT}/widget", data={**form, "csrf_token": "x" * 30})
        assert forged.status_code == 403


async def test_hello_carries_the_look_in_the_visitor_language(services: Any) -> None:
    from sqlmodel import select

    from app.models import Account

    async with services.db.session() as session:
        account = (await session.exec(select(Account).where(Account.key == CHAT))).one()
        look = check_look({"color": "#ffff00", "titles": {"de": "Fragen?"}})
        await widget_look.do_save(session, account, look, None)
        de = (await widget_look.hello_fields(services, session, account, "v1", "de"))["look"]
        es = (await widget_look.hello_fields(services, session, account, "v1", "es"))["look"]
    assert de["title"] == "Fragen?" and de["text_color"] == "#1d2430"
    assert de["greeting"] == "Guten Tag! Wie können wir Ihnen helfen?"  # the catalog's
    assert es["title"] == "Pregúntenos lo que quiera" and es["logo"] == ""
    assert [x["code"] for x in de["languages"]] == ["fr", "en", "de", "nl", "es", "it"]


# ---- the name asked before the first message, carried by the message frame -------------------
def test_the_first_message_may_carry_the_visitor_name() -> None:
    from datetime import UTC, datetime

    from connectors.webchat.frames import FrameError, VisitorMessageFrame, parse_frame, to_inbound

    def frame(name: object) -> str:
        return json.dumps(
            {"type": "message", "client_id": "abcdefgh12", "text": "Hi", "name": name}
        )

    parsed = parse_frame(frame("  Ana   María\u00a0Núñez "), 4000)
    assert isinstance(parsed, VisitorMessageFrame) and parsed.name == "Ana María Núñez"
    inbound = to_inbound(parsed, account=CHAT, visitor_id="v1", received_at=datetime.now(UTC))
    assert inbound.author.name == "Ana María Núñez"
    assert parse_frame(frame(""), 4000).name == ""  # type: ignore[union-attr]
    for bad in (3, None, ["Ana"], "x" * 101, "Ana\x00", "Ana\u202eevil", "A\nB\x07"):
        with pytest.raises(FrameError):
            parse_frame(frame(bad), 4000)
