"""Profiles and secrets: what is accepted, what is refused, and the exact line a user sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.config import (
    ORG_API_KEY,
    SCIM_TOKEN,
    Profile,
    Secret,
    Secrets,
    looks_like_secret_key,
)
from scimrecon.errors import InputError

GOOD = """
[atlassian]
base_url = "http://127.0.0.1:8000/atlassian/"
org_id = "org-1"

[scim]
base_url = "http://127.0.0.1:8000/atlassian/scim/directory/dir-1"
directory_id = "dir-1"

[jira]
base_url = "http://127.0.0.1:8000/jira/acme"
email = "ops@acme.example"

[idp]
kind = "entra"
graph_url = "http://127.0.0.1:8000/graph"
login_url = "http://127.0.0.1:8000/login"
tenant = "t-1"
client_id = "c-1"
service_principal = "sp-1"
job_id = "job-1"
rule_id = "rule-1"

[billing]
tier = 2000
price_per_user_month = 8
cycle_day = 1

[limits]
atlassian = 10
graph = 0.5
"""


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_profile_loads_typed(tmp_path: Path) -> None:
    p = Profile.load(write(tmp_path, GOOD))
    assert p.atlassian is not None and p.atlassian.base_url == "http://127.0.0.1:8000/atlassian"
    assert p.scim is not None and p.scim.directory_id == "dir-1"
    assert p.idp is not None and p.idp.kind == "entra" and p.idp.rule_id == "rule-1"
    assert p.billing.price_per_user_month == 8 and p.billing.tier == 2000
    assert p.rate_for("graph") == 0.5 and p.rate_for("jira") is None


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = write(tmp_path, '[scim]\nbase_url = "https://a.example/explicit"\n', "e.toml")
    from_env = write(tmp_path, '[scim]\nbase_url = "https://a.example/env"\n', "v.toml")
    home = tmp_path / "home"
    (home / "scimrecon").mkdir(parents=True)
    write(home / "scimrecon", '[scim]\nbase_url = "https://a.example/user"\n', "config.toml")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    env = {"SCIMRECON_PROFILE": str(from_env), "XDG_CONFIG_HOME": str(home)}

    def url(path: Path | None, env: dict[str, str]) -> str:
        scim = Profile.load(path, env=env).scim
        assert scim is not None
        return scim.base_url

    assert url(explicit, env) == "https://a.example/explicit"
    assert url(None, env) == "https://a.example/env"
    del env["SCIMRECON_PROFILE"]
    assert url(None, env) == "https://a.example/user"
    write(work, '[scim]\nbase_url = "https://a.example/local"\n', "scimrecon.toml")
    assert url(None, env) == "https://a.example/local"


def test_no_profile_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as err:
        Profile.load(None, env={"XDG_CONFIG_HOME": str(tmp_path / "nothing")})
    assert str(err.value).startswith("no profile: pass --profile FILE, set SCIMRECON_PROFILE")
    assert err.value.exit_code == 2


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"profile .*nope\.toml: file not found"):
        Profile.load(tmp_path / "nope.toml")
    bad = write(tmp_path, "[scim\nbase_url=1")
    with pytest.raises(InputError, match=r"p\.toml: invalid TOML: .*line 1"):
        Profile.load(bad)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[scimm]\nbase_url="https://x"', "unknown section [scimm] (known: [atlassian], [scim]"),
        ('[scim]\nbase_url="https://x"\nurl="y"', "unknown key scim.url (allowed in [scim]: "),
        ('[scim]\ndirectory_id="d"', "[scim] needs scim.base_url"),
        ('[scim]\nbase_url="ftp://x"', "scim.base_url must be an http(s) URL with a host"),
        ("[scim]\nbase_url=3", "scim.base_url must be a string, got an integer"),
        ('[idp]\nkind="onelogin"', "idp.kind must be one of entra, okta, manual"),
        ('[billing]\ntier="big"', "billing.tier must be an integer, got a string"),
        ("[limits]\natlassian=0", "limits.atlassian must be a positive requests/s rate"),
        ('[jira]\nbase_url="https://u:p@acme.example"\nemail="e"', "must not carry a user"),
    ],
)
def test_invalid_profiles_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        Profile.load(path)
    assert str(err.value).startswith(f"profile {path}: ")
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "key", "var"),
    [
        ('[scim]\nbase_url="https://x"\ntoken="abc"', "scim.token", SCIM_TOKEN),
        (
            '[atlassian]\nbase_url="https://x"\norg_id="o"\napi_key="k"',
            "atlassian.api_key",
            ORG_API_KEY,
        ),
        (
            '[jira]\nbase_url="https://x"\nemail="e"\napi_token="t"',
            "jira.api_token",
            "SCIMRECON_JIRA_TOKEN",
        ),
        (
            '[idp]\nkind="entra"\nclient_secret="s"',
            "idp.client_secret",
            "SCIMRECON_ENTRA_CLIENT_SECRET",
        ),
        (
            '[idp]\nkind="entra"\n[idp.extra]\npassword="p"',
            "idp.extra.password",
            "SCIMRECON_ENTRA_CLIENT_SECRET",
        ),
    ],
)
def test_secrets_in_a_profile_are_refused(tmp_path: Path, text: str, key: str, var: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        Profile.load(path)
    msg = str(err.value)
    assert f"key {key} looks like a secret" in msg
    assert f"set {var} in the environment or the OS keyring" in msg
    for value in ('"abc"', '"k"', '"t"', '"s"', '"p"'):
        assert value not in msg  # never echo the value


def test_top_level_secret_lists_all_variables(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        Profile.load(write(tmp_path, 'password = "hunter2"\n'))
    assert "key password looks like a secret" in str(err.value)
    assert "SCIMRECON_SCIM_TOKEN" in str(err.value) and "hunter2" not in str(err.value)


@given(
    st.sampled_from(
        [
            "token",
            "api_key",
            "secret",
            "password",
            "client_secret",
            "API_TOKEN",
            "scim_token",
            "apikey",
            "Password",
        ]
    )
)
def test_secret_names_detected(name: str) -> None:
    assert looks_like_secret_key(name)


@given(
    st.sampled_from(
        [
            "base_url",
            "org_id",
            "email",
            "kind",
            "tenant",
            "client_id",
            "service_principal",
            "job_id",
            "rule_id",
            "tier",
            "cycle_day",
        ]
    )
)
def test_profile_keys_are_not_secrets(name: str) -> None:
    assert not looks_like_secret_key(name)


def test_require_names_the_missing_section(tmp_path: Path) -> None:
    path = write(tmp_path, '[scim]\nbase_url = "https://x"\n')
    with pytest.raises(InputError) as err:
        Profile.load(path).require("jira", "Jira ticket reassignment")
    assert (
        str(err.value)
        == f"profile {path} has no [jira] section, needed for Jira ticket reassignment"
    )


# --- secrets ------------------------------------------------------------------------------------


def test_secret_never_shows_its_value() -> None:
    s = Secret("hunter2")
    assert repr(s) == str(s) == f"{s}" == f"{s!r}" == "***"
    assert "hunter2" not in repr([s, {"k": s}])
    assert s.reveal() == "hunter2"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(s)


def test_secrets_from_env_then_keyring() -> None:
    stored = {("scimrecon", ORG_API_KEY): "from-keyring"}
    calls: list[tuple[str, str]] = []

    def lookup(service: str, user: str) -> str | None:
        calls.append((service, user))
        return stored.get((service, user))

    secrets = Secrets({SCIM_TOKEN: "from-env"}, keyring_lookup=lookup)
    assert secrets.scim_token.reveal() == "from-env" and secrets.source(SCIM_TOKEN) == "env"
    assert secrets.org_api_key.reveal() == "from-keyring"
    assert secrets.source(ORG_API_KEY) == "keyring"
    assert calls == [("scimrecon", ORG_API_KEY)]  # env hit never asks the keyring
    assert repr(secrets) == "Secrets(***)"


def test_missing_secret_names_the_variable_only_when_used() -> None:
    secrets = Secrets({}, keyring_lookup=lambda s, u: None)  # building it is fine
    assert secrets.source("SCIMRECON_JIRA_TOKEN") is None
    with pytest.raises(InputError) as err:
        secrets.jira_token  # noqa: B018
    assert str(err.value) == (
        "SCIMRECON_JIRA_TOKEN is not set (Jira API token (Basic, with [jira].email)): export it, "
        'or store it in the OS keyring with service "scimrecon" and username "SCIMRECON_JIRA_TOKEN"'
    )


def test_broken_system_keyring_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.errors import NoKeyringError

    def boom(service: str, user: str) -> str:
        raise NoKeyringError("no backend")

    monkeypatch.setattr(keyring, "get_password", boom)
    assert Secrets({}).source(SCIM_TOKEN) is None


def test_atlassian_domains_are_a_lowercased_list_of_strings() -> None:
    import pytest

    from scimrecon.config import Profile
    from scimrecon.errors import InputError

    table = {"base_url": "https://api.atlassian.com", "org_id": "o"}
    profile = Profile.from_dict({"atlassian": {**table, "domains": ["Acme.example"]}})
    assert profile.atlassian.domains == ("acme.example",)
    with pytest.raises(InputError, match=r"atlassian.domains must be a list of non-empty strings"):
        Profile.from_dict({"atlassian": {**table, "domains": ["", 3]}})


def test_config_show_prints_lists_as_lists(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from scimrecon.cli.main import cli

    profile = tmp_path / "p.toml"
    profile.write_text(
        '[atlassian]\nbase_url = "https://api.atlassian.com"\norg_id = "o"\n'
        'domains = ["acme.example", "acme.io"]\n',
        encoding="utf-8",
    )
    result = CliRunner(env={"SCIMRECON_PROFILE": ""}).invoke(
        cli, ["--profile", str(profile), "config", "show"]
    )
    assert result.exit_code == 0, result.output
    assert "\ndomains       acme.example, acme.io\n" in result.stdout
