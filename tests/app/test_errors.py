"""Requests FastAPI cannot parse are refused like every other bad input: a 422 with the reason in
the user's language, field by field, and nothing stored."""

from __future__ import annotations

from tests.conftest import LiveServer, login, office_login


def test_unparsable_requests_get_a_readable_422_in_the_users_language(live: LiveServer) -> None:
    who = office_login(live, "port-argent")
    with login(live.url, who.email, who.password) as client:
        client.headers["Accept-Language"] = "fr-FR,fr;q=0.9"
        wrong_type = client.post("/api/conversations/1/messages", json={"text": ["not", "text"]})
        assert wrong_type.status_code == 422
        body = wrong_type.json()
        assert body["code"] == "error.invalid_input"
        assert body["detail"] == "Requête refusée : text: type de valeur incorrect."
        assert body["errors"] == [
            {"field": "text", "problem": "type de valeur incorrect", "code": "type"}
        ]

        missing = client.post("/api/conversations/1/transfer", json={"note": "x"})
        assert missing.status_code == 422
        assert missing.json()["errors"][0] == {
            "field": "office_id",
            "problem": "champ manquant",
            "code": "missing",
        }

        not_json = client.post(
            "/api/conversations/1/messages",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert not_json.status_code == 422
        assert not_json.json()["code"] == "error.invalid_input"

        too_long = client.post("/api/conversations/1/messages", json={"text": "x" * 20_001})
        assert too_long.json()["errors"][0]["code"] == "too_long"

        # The user's own choice of language wins over the browser's.
        client.headers["Accept-Language"] = "en-GB"
        assert "champ manquant" not in client.post("/api/me/presence", json={}).text
        client.post(
            "/language", data={"language": "fr", "next": "/inbox", "csrf_token": csrf(client)}
        )
        client.cookies.pop("concierge_lang", None)
        refused = client.post("/api/me/presence", json={"status": "asleep"})
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["problem"] == "valeur non prévue"

        # Nothing was stored by any of these.
        assert client.get("/api/conversations?status=all").json() == []


def csrf(client: object) -> str:
    return str(client.headers["X-CSRF-Token"])  # type: ignore[attr-defined]
