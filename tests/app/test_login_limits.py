"""Client addresses and sign-ins: X-Forwarded-For only from trusted proxies, a per-account limit
beside the per-address one (that cannot lock the real user out), Secure cookies in production."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from app.embedded_redis import free_port
from app.main import create_app
from app.settings import Settings
from tests.conftest import DemoLogin, _Server, seed_demo

Serve = Callable[..., str]


@pytest.fixture
def serve(settings: Settings) -> Iterator[Serve]:
    """Real servers configured as ``concierge run`` configures uvicorn: its own proxy-headers
    middleware off, so only the app's trusted proxies decide."""
    running: list[tuple[_Server, threading.Thread]] = []

    def start(**overrides: object) -> str:
        app = create_app(settings.model_copy(update=overrides))
        port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False
        )
        server = _Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def logins(settings: Settings) -> dict[str, DemoLogin]:
    return seed_demo(settings)


def _token(client: httpx.Client) -> str:
    page = client.get("/login")
    return page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def _sign_in(
    client: httpx.Client, email: str, password: str, ip: str | None = None
) -> httpx.Response:
    headers = {"x-forwarded-for": ip} if ip else {}
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": _token(client)},
        headers={"accept-language": "en", **headers},
    )


def test_forwarded_for_is_believed_only_from_trusted_proxies(
    serve: Serve, logins: dict[str, DemoLogin]
) -> None:
    # Nobody trusted (the default): an attacker varying X-Forwarded-For is still one address.
    url = serve()
    with httpx.Client(base_url=url) as client:
        codes = [
            _sign_in(client, f"nobody{n}@x.example", "nope", f"203.0.113.{n}").status_code
            for n in range(14)
        ]
    assert codes[:10] == [401] * 10 and 429 in codes[10:]

    # Behind a trusted proxy (here, loopback): each forwarded client has its own limit…
    url = serve(trusted_proxies="127.0.0.1, 10.0.0.0/8")
    with httpx.Client(base_url=url) as client:
        codes = [
            _sign_in(client, f"other{n}@x.example", "nope", f"198.51.100.{n}").status_code
            for n in range(14)
        ]
        assert codes == [401] * 14
        # …and one forwarded client is limited as one, however the proxy is reached.
        same = [
            _sign_in(client, f"same{n}@x.example", "nope", "198.51.100.200").status_code
            for n in range(14)
        ]
    assert same[:10] == [401] * 10 and 429 in same[10:]

    # A peer outside the list is not believed: 127.0.0.2 is not 127.0.0.1.
    url = serve(trusted_proxies="127.0.0.2")
    with httpx.Client(base_url=url) as client:
        codes = [
            _sign_in(client, f"far{n}@x.example", "nope", f"192.0.2.{n}").status_code
            for n in range(14)
        ]
    assert 429 in codes[10:]


def test_an_account_guessed_from_many_addresses_is_locked_but_not_for_its_own_browser(
    serve: Serve, logins: dict[str, DemoLogin]
) -> None:
    user = logins["camille@port-argent.example"]
    url = serve(
        trusted_proxies="127.0.0.1", login_account_failures=5, login_account_window_seconds=8
    )
    with httpx.Client(base_url=url) as own_browser:
        assert _sign_in(own_browser, user.email, user.password).status_code == 303
        # Signed in here before: this browser is known (the cookie only travels to /login).
        device = next(c for c in own_browser.cookies.jar if c.name == "concierge_device")
        assert device.path == "/login"

    with httpx.Client(base_url=url) as attacker:
        # Five guesses from five addresses: each address is far under its own limit.
        for n in range(5):
            response = _sign_in(attacker, user.email.upper(), f"guess{n}", f"198.51.100.{n}")
            assert response.status_code == 401
        # The account is locked now, even for the right password from an unknown browser.
        locked = _sign_in(attacker, user.email, user.password, "198.51.100.99")
        assert locked.status_code == 429
        assert "Too many failed sign-ins for this account" in locked.text
        assert "concierge_session" not in locked.headers.get("set-cookie", "")
    # The real user's own browser still gets in during the lock…
    with httpx.Client(base_url=url) as own_browser:
        own_browser.cookies.set("concierge_device", device.value or "", path="/login")
        assert _sign_in(own_browser, user.email, user.password).status_code == 303
    # …a forged device cookie does not, nor another user's.
    with httpx.Client(base_url=url) as forger:
        forger.cookies.set("concierge_device", (device.value or "x")[:-2] + "AA", path="/login")
        assert _sign_in(forger, user.email, user.password, "198.51.100.98").status_code == 429
    other = logins["hugo@port-argent.example"]
    with httpx.Client(base_url=url) as colleague:
        assert _sign_in(colleague, other.email, other.password).status_code == 303
        mine = next(c for c in colleague.cookies.jar if c.name == "concierge_device")
        colleague.cookies.delete("concierge_session")  # signed out; the device cookie stays
        assert _sign_in(colleague, user.email, user.password).status_code == 429
        assert mine.value != device.value

    # The lock lifts by itself (refused attempts did not extend it).
    deadline = time.monotonic() + 15
    with httpx.Client(base_url=url) as later:
        for attempt in range(100):
            response = _sign_in(later, user.email, user.password, f"203.0.113.{attempt}")
            if response.status_code != 429 or time.monotonic() > deadline:
                break
            assert "Too many failed sign-ins for this account" in response.text
            time.sleep(0.5)
    assert response.status_code == 303


def test_unknown_emails_are_locked_like_real_ones(
    serve: Serve, logins: dict[str, DemoLogin]
) -> None:
    """The lock tells nothing about which accounts exist."""
    url = serve(trusted_proxies="127.0.0.1", login_account_failures=3)
    with httpx.Client(base_url=url) as attacker:
        for n in range(3):
            assert _sign_in(attacker, "ghost@x.example", "x", f"192.0.2.{n}").status_code == 401
        ghost = _sign_in(attacker, " Ghost@X.example ", "x", "192.0.2.99")
        assert ghost.status_code == 429 and "Too many failed sign-ins" in ghost.text
        french = attacker.post(
            "/login",
            data={"email": "ghost@x.example", "password": "x", "csrf_token": _token(attacker)},
            headers={"accept-language": "fr", "x-forwarded-for": "192.0.2.98"},
        )
        assert french.status_code == 429 and "Trop de connexions" in french.text


def _cookies(response: httpx.Response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}


@pytest.mark.parametrize("cookie_secure", [False, True])
def test_every_cookie_is_secure_in_production(
    serve: Serve, logins: dict[str, DemoLogin], cookie_secure: bool
) -> None:
    user = logins["camille@port-argent.example"]
    url = serve(
        environment="production", secret_key=SecretStr("p" * 48), cookie_secure=cookie_secure
    )
    with httpx.Client(base_url=url) as client:
        page = client.get("/login")
        token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        # The client keeps Secure cookies for HTTPS: say them as a browser behind TLS would.
        client.cookies.clear()
        sent = {"cookie": f"concierge_csrf={token}"}
        signed_in = client.post(
            "/login",
            data={"email": user.email, "password": user.password, "csrf_token": token},
            headers=sent,
        )
        language = client.post(
            "/language", data={"language": "en", "next": "/", "csrf_token": token}, headers=sent
        )
    cookies = {**_cookies(page), **_cookies(signed_in), **_cookies(language)}
    assert {"concierge_csrf", "concierge_session", "concierge_device", "concierge_lang"} <= set(
        cookies
    )
    for name, cookie in cookies.items():
        assert "; secure" in cookie.lower(), name
        assert cookie.lower().count("secure") == 1, cookie  # said once


def test_cookies_are_not_forced_secure_in_development(
    serve: Serve, logins: dict[str, DemoLogin]
) -> None:
    with httpx.Client(base_url=serve()) as client:
        cookie = _cookies(client.get("/login"))["concierge_csrf"]
    assert "secure" not in cookie.lower()
