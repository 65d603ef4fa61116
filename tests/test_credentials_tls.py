"""Credentials only over TLS, never in URLs, never echoed (issue 11 point 5).

Plain http:// is allowed only to a loopback host; a URL with a user, a password or a
credential-looking query key is refused. Both the profile loader and the HTTP client refuse,
so a URL built in code or taken from a response is stopped before any request. Profile errors
name the key, never the value.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from scimrecon.config import Profile
from scimrecon.errors import InputError
from scimrecon.http import HttpClient, HttpSettings
from scimrecon.http_auth import BearerAuth
from scimrecon.urlsafety import display_url, is_credential_key, is_loopback_host, url_problem
from tests.reliability.procs import scimrecon, sim_serve
from tests.reliability.worlds import reprovision_world

VALUE = "Zq9PLANTEDvalue77"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True), ("127.255.0.9", True), ("::1", True), ("[::1]", True),
        ("::ffff:127.0.0.1", True), ("localhost", True), ("LOCALHOST.", True),
        ("sim.localhost", True), ("192.0.2.2", False), ("10.0.0.1", False), ("::2", False),
        ("localhost.example", False), ("127.0.0.1.nip.io", False), ("", False), (None, False),
    ],
)  # fmt: skip
def test_loopback_hosts(host: str | None, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://api.atlassian.com/scim/directory/d", None),
        ("http://127.0.0.1:48111/scim", None),
        ("http://[::1]:8080/x", None),
        ("http://localhost/x", None),
        ("http://192.0.2.2:48111/scim", "must use https://"),
        ("http://api.atlassian.com", "must use https://"),
        ("https://u:p@api.atlassian.com", "must not carry a user or password"),
        ("https://u@api.atlassian.com", "must not carry a user or password"),
        ("http://u:p@127.0.0.1", "must not carry a user or password"),
        (f"https://api.atlassian.com/x?api_key={VALUE}", "query key 'api_key'"),
        (f"https://api.atlassian.com/x?a=1&Access-Token={VALUE}", "query key 'Access-Token'"),
        (f"https://a.example/x?SIG={VALUE}", "query key 'SIG'"),
        (f"https://a.example/x?client_secret={VALUE}", "query key 'client_secret'"),
        (f"https://a.example/x?x-api-key={VALUE}", "query key 'x-api-key'"),
        (f"https://a.example/x?jira_token={VALUE}", "query key 'jira_token'"),
        ("ftp://a.example", "must be an http(s) URL with a host"),
        ("https:///path", "must be an http(s) URL with a host"),
        ("api.atlassian.com/x", "must be an http(s) URL with a host"),
    ],
)
def test_url_problem(url: str, problem: str | None) -> None:
    found = url_problem(url)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
        assert VALUE not in found and "192.0.2.2" not in found


def test_harmless_query_keys_are_not_credentials() -> None:
    assert [is_credential_key(k) for k in ("$top", "cursor", "startIndex", "keyword")] == [
        False
    ] * 4


def test_display_url_masks_query_values_and_userinfo() -> None:
    assert display_url(f"https://u:{VALUE}@a.example:8443/p?cursor=c&token={VALUE}") == (
        "https://a.example:8443/p?cursor=***&token=***"
    )
    assert display_url("http://[::1]:9/x") == "http://[::1]:9/x"


def _profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('[scim]\nbase_url = "http://192.0.2.2:48111/scim"', "scim.base_url must use https://"),
        (
            f'[scim]\nbase_url = "https://api.atlassian.com/scim?api_key={VALUE}"',
            "scim.base_url must not carry a credential in the URL (query key 'api_key')",
        ),
        (
            f'[jira]\nbase_url = "https://me:{VALUE}@acme.atlassian.net"\nemail = "e"',
            "jira.base_url must not carry a user or password",
        ),
        (
            f'[idp]\nkind = "entra"\nlogin_url = "http://login.example/?x={VALUE}"',
            "idp.login_url must use https://",
        ),
        (f'[atlassian]\nbase_url = "https://a.example"\norg_id = ["{VALUE}"]', "org_id must be"),
        (f'[billing]\ntier = "{VALUE}"', "billing.tier must be an integer, got a string"),
        (f'[idp]\nkind = "{VALUE}"', "idp.kind must be one of entra, okta, manual"),
        (f'[scim]\nbase_url = "{VALUE}"', "scim.base_url must be an http(s) URL with a host"),
    ],
)
def test_profile_errors_name_the_key_never_the_value(
    tmp_path: Path, section: str, message: str
) -> None:
    path = _profile(tmp_path, section)
    with pytest.raises(InputError) as err:
        Profile.load(path)
    assert message in str(err.value)
    assert VALUE not in str(err.value) and "192.0.2.2" not in str(err.value)


def test_profile_accepts_plain_http_to_loopback_only(tmp_path: Path) -> None:
    for url in ("http://127.0.0.1:9/scim", "http://[::1]:9/scim", "http://localhost:9/scim"):
        profile = Profile.load(_profile(tmp_path, f'[scim]\nbase_url = "{url}"'))
        assert profile.scim is not None and profile.scim.base_url == url


def _recording() -> tuple[list[httpx.Request], HttpSettings]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    return seen, HttpSettings(transport=httpx.MockTransport(handler))


def test_the_client_refuses_a_clear_text_url_before_any_request() -> None:
    seen, settings = _recording()
    with pytest.raises(InputError, match=r"^SCIM directory: base URL must use https://"):
        HttpClient("SCIM directory", "http://192.0.2.2:48111/scim", BearerAuth(VALUE),
                   settings=settings)  # fmt: skip
    with pytest.raises(InputError, match=r"query key 'api_key'"):
        HttpClient("SCIM directory", f"https://a.example/?api_key={VALUE}", None, settings=settings)
    assert seen == []


def test_an_absolute_link_from_a_response_never_gets_the_key_in_clear_text() -> None:
    seen, settings = _recording()
    client = HttpClient("Graph", "https://graph.example/v1.0", BearerAuth(VALUE), settings=settings)
    with pytest.raises(InputError) as err:
        client.get("http://graph.example/v1.0/users?$skiptoken=x")
    assert str(err.value).startswith("Graph: refused to send GET to a URL that must use https://")
    with pytest.raises(InputError, match="query key 'sig'"):
        client.get(f"https://graph.example/v1.0/users?sig={VALUE}")
    assert seen == []
    client.get("https://graph.example/v1.0/users?$skiptoken=x")
    assert [str(r.url) for r in seen] == ["https://graph.example/v1.0/users?$skiptoken=x"]


@pytest.mark.reliability
def test_against_the_simulator_on_loopback(tmp_path: Path) -> None:
    """Over a real socket: loopback by name works; the same server named by a non-loopback
    address, or with a key in the URL, is refused with one line and never contacted."""
    world = tmp_path / "world.json"
    world.write_text(json.dumps(reprovision_world(2, 2)[0]), "utf-8")
    with sim_serve(world, tmp_path) as sim:
        text = sim.profile.read_text("utf-8")
        port = re.search(r"http://127\.0\.0\.1:(\d+)", text)
        assert port is not None
        env = sim.env()

        def check(url: str, *args: str) -> tuple[int, str, str]:
            profile = tmp_path / "p.toml"
            profile.write_text(text.replace(f"http://127.0.0.1:{port[1]}", url), "utf-8")
            # through the variable: `python -m scimrecon.cli.main --profile` is not read by
            # `config` (the module runs as __main__, so its CliState is another class)
            done = scimrecon(args, {**env, "SCIMRECON_PROFILE": str(profile)}, tmp_path)
            return done.returncode, done.stdout, done.stderr

        before = _api_calls(sim)
        code, out, err = check(f"http://localhost:{port[1]}", "config", "check")
        assert code == 0, err
        assert _api_calls(sim) > before
        before = _api_calls(sim)
        for url in (f"http://0.0.0.0:{port[1]}", f"http://localhost:{port[1]}?token={VALUE}"):
            for args in (
                ("config", "check"),
                ("config", "show"),
                ("scim", "find", "ada@acme.example"),
            ):
                code, out, err = check(url, *args)
                assert code == 2, (url, args, out, err)
                assert err.count("\n") == 1 and err.startswith("error: profile "), err
                assert VALUE not in out + err and "0.0.0.0" not in err
        assert _api_calls(sim) == before


def _api_calls(sim: object) -> int:
    """Requests the simulator saw on its APIs (its own /_sim/log reads left out)."""
    return sum(1 for e in sim.log() if not e["path"].startswith("/_sim"))  # type: ignore[attr-defined]
