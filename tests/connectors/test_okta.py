"""The Okta adapter against the simulator's Okta API: every call, and every way it can fail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.connectors.idp import OktaAdapter
from scimrecon.connectors.idp.okta import next_link
from scimrecon.errors import InputError, RefusedError
from scimrecon.http import HttpError
from scimrecon.retry import RetryPolicy, parse_retry_after
from tests.connectors.conftest import Sim, make_sim

ADA = "ada.lovelace@acme.example"


def features(sim: Sim) -> dict[str, str]:
    return sim.world["idp"]["okta"]["features"]


def app_path(sim: Sim) -> str:
    return f"/okta/api/v1/apps/{sim.world['idp']['okta']['app_id']}"


def test_status_pause_resume_turn_exactly_create_and_profile(okta_sim: Sim) -> None:
    idp = okta_sim.services.idp
    assert isinstance(idp, OktaAdapter) and idp.capabilities["pause"] == "api"
    features(okta_sim)["profile"] = "DISABLED"
    assert idp.status() == "Active" and idp.enabled() == ("create",)
    assert idp.pause() == ("create",)
    assert idp.status() == "Paused"
    assert features(okta_sim) == {
        "status": "ENABLED",
        "create": "DISABLED",
        "profile": "DISABLED",
        "deactivate": "ENABLED",  # never touched
        "password": "DISABLED",
    }
    idp.resume(["create"])
    assert (features(okta_sim)["create"], features(okta_sim)["profile"]) == ("ENABLED", "DISABLED")
    feature = f"{app_path(okta_sim)}/features/USER_PROVISIONING"
    assert okta_sim.requests("/okta") == [
        ("GET", feature, 200),
        ("GET", feature, 200),
        ("GET", feature, 200),
        ("PUT", feature, 200),
        ("GET", feature, 200),
        ("PUT", feature, 200),
    ]


def test_pause_refuses_when_the_settings_changed_since_they_were_recorded(okta_sim: Sim) -> None:
    idp = okta_sim.services.idp
    with pytest.raises(RefusedError, match="changed since this run recorded them"):
        idp.pause(["create"])  # both are on now
    assert features(okta_sim)["create"] == "ENABLED"
    assert idp.pause(["create", "profile"]) == ("create", "profile")
    assert idp.pause(["create", "profile"]) == ("create", "profile")  # a repeat is a no-op
    assert [m for m, _, _ in okta_sim.requests("/okta")].count("PUT") == 1


def test_resume_without_a_list_or_with_an_unknown_name_is_refused(okta_sim: Sim) -> None:
    idp = okta_sim.services.idp
    with pytest.raises(InputError, match="--restore create,profile"):
        idp.resume(None)
    with pytest.raises(InputError, match="cannot restore deactivate"):
        idp.resume(["deactivate"])
    assert okta_sim.app.log == []


def test_feature_off_is_not_configured(okta_sim: Sim) -> None:
    features(okta_sim)["status"] = "DISABLED"
    assert okta_sim.services.idp.status() == "NotConfigured"
    assert okta_sim.services.idp.enabled() == ()


def test_an_app_without_the_features_api_is_a_refusal_naming_manual() -> None:
    sim = make_sim("okta")
    del sim.world["idp"]["okta"]["features"]
    with pytest.raises(RefusedError) as err:
        sim.services.idp.status()
    assert 'set [idp] kind = "manual"' in str(err.value)
    assert "E0000001: Api validation failed: provisioning is not enabled" in str(err.value)


def test_a_wrong_app_id_is_a_404_refusal() -> None:
    base = make_sim("okta")
    profile = base.app.profile("http://sim.localhost")
    profile["idp"]["app_id"] = "0oaWRONG"
    sim = make_sim(world=base.world, profile=profile)
    with pytest.raises(RefusedError, match="Okta answered 404 for the provisioning settings"):
        sim.services.idp.pause()
    assert [s for _, _, s in sim.requests("/okta")] == [404]


def test_a_wrong_token_is_401_in_one_line() -> None:
    sim = make_sim("okta", secrets={**make_sim("okta").app.secrets(), "SCIMRECON_OKTA_TOKEN": "x"})
    with pytest.raises(HttpError) as err:
        sim.services.idp.status()
    assert err.value.status == 401
    path = f"{app_path(sim).removeprefix('/okta')}/features/USER_PROVISIONING"
    assert str(err.value) == f"Okta: GET {path} → 401: E0000011: Invalid token provided"
    assert "x" not in str(err.value).split("→")[1].replace("E0000011", "")


def test_a_read_only_admin_token_gets_403_naming_the_role_needed() -> None:
    base = make_sim("okta")
    token = base.world["idp"]["okta"]["read_only_token"]
    sim = make_sim("okta", secrets={**base.app.secrets(), "SCIMRECON_OKTA_TOKEN": token})
    assert sim.services.idp.status() == "Active"  # reading is allowed
    with pytest.raises(HttpError) as err:
        sim.services.idp.pause()
    assert err.value.status == 403
    assert "E0000006: You do not have permission" in str(err.value)
    assert "Application Administrator" in str(err.value)
    assert features(sim)["create"] == "ENABLED"


def test_429_waits_until_oktas_reset_epoch_then_succeeds() -> None:
    sim = make_sim("okta", retry=RetryPolicy(attempts=4))
    sim.faults({"/okta": {"rate_per_s": 0.5, "burst": 1}, "seed": 1})
    idp = sim.services.idp
    assert idp.status() == "Active"
    assert idp.status() == "Active"  # the second call met a 429 and waited for the reset
    statuses = [s for _, _, s in sim.requests("/okta")]
    assert statuses == [200, 429, 200]
    # the bucket refills 1 token in 2 s; Okta's header rounds the reset up to a whole second
    assert sim.time.sleeps == [pytest.approx(2.0)]


def test_429_headers_are_oktas() -> None:
    sim = make_sim("okta", retry=RetryPolicy(attempts=1))
    sim.faults({"/okta": {"rate_per_s": 0.5, "burst": 1}, "seed": 1})
    sim.services.idp.status()
    with pytest.raises(HttpError) as err:
        sim.services.idp.status()
    assert err.value.status == 429
    assert "E0000047: API call exceeded rate limit" in str(err.value)


def test_provision_user_unassigns_then_assigns_and_okta_pushes_a_new_user(okta_sim: Sim) -> None:
    idp = okta_sim.services.idp
    account = next(a for a in okta_sim.world["accounts"] if a["email"] == ADA)
    okta_sim.services.admin.delete_scim_record_only(account["account_id"])
    okta_sim.services.admin.set_email(account["account_id"], "ada.lovelace+old@acme.example")
    idp.provision_user(ADA)
    user = okta_sim.services.scim.find_by_username(ADA)
    assert user is not None and user.account_id != account["account_id"]
    assert account["status"] == "active"  # the old account was never reached
    okta = [(m, p.split("?")[0]) for m, p, _ in okta_sim.requests("/okta")]
    user_id = next(u["object_id"] for u in okta_sim.world["idp"]["users"] if u["userName"] == ADA)
    assert okta == [
        ("GET", f"/okta/api/v1/users/{ADA}"),
        ("GET", f"{app_path(okta_sim)}/users/{user_id}"),
        ("DELETE", f"{app_path(okta_sim)}/users/{user_id}"),
        ("POST", f"{app_path(okta_sim)}/users"),
    ]
    assert "sendEmail=false" in okta_sim.requests("/okta")[2][1]


def test_provision_user_after_a_lost_unassign_answer_assigns_without_unassigning(
    okta_sim: Sim,
) -> None:
    idp = okta_sim.services.idp
    user = next(u for u in okta_sim.world["idp"]["users"] if u["userName"] == ADA)
    user["assigned"] = False  # the unassignment happened; its answer never came back
    features(okta_sim)["deactivate"] = "DISABLED"
    idp.provision_user(ADA)
    assert user["assigned"] is True
    assert [m for m, _, _ in okta_sim.requests("/okta")] == ["GET", "GET", "POST"]


def test_a_group_assigned_user_is_refused_without_a_change(okta_sim: Sim) -> None:
    user = next(u for u in okta_sim.world["idp"]["users"] if u["userName"] == ADA)
    user["assigned_via"] = "Atlassian users"
    with pytest.raises(RefusedError, match="through a group"):
        okta_sim.services.idp.provision_user(ADA)
    assert [m for m, _, _ in okta_sim.requests("/okta")] == ["GET", "GET"]


def test_an_unknown_user_is_404(okta_sim: Sim) -> None:
    with pytest.raises(HttpError) as err:
        okta_sim.services.idp.provision_user("ghost@acme.example")
    assert err.value.status == 404
    assert str(err.value) == (
        "Okta: GET /api/v1/users/ghost@acme.example → 404: E0000007: Not found: Resource not "
        "found: ghost@acme.example (User)"
    )


def test_read_users_follows_link_headers_and_marks_assignments(okta_sim: Sim) -> None:
    users = okta_sim.world["idp"]["users"]
    users[0]["assigned"] = False
    users[1]["accountEnabled"] = False
    users[2]["assigned_via"] = "Atlassian users"
    idp = okta_sim.services.idp
    paged = list(idp._pages("/api/v1/users", {"limit": "5"}))
    assert [u["id"] for u in paged] == [u["object_id"] for u in users]  # 9 pages, in order
    assert len(okta_sim.requests("/okta/api/v1/users")) == 9
    found = {u.object_id: u for u in idp.read_users().users}
    assert len(found) == len(users)
    assert not found[users[0]["object_id"]].assigned
    assert found[users[1]["object_id"]].account_enabled is False
    assert found[users[2]["object_id"]].assigned_via == "a group"
    assert (
        idp.find_users(names=[users[3]["userName"].upper()])[0].object_id == users[3]["object_id"]
    )


def test_next_link_reads_rfc8288() -> None:
    header = (
        '<https://x.okta.com/api/v1/users?limit=2>; rel="self", '
        '<https://x.okta.com/api/v1/users?after=00u2&limit=2>; rel="next"'
    )
    assert next_link(header) == "https://x.okta.com/api/v1/users?after=00u2&limit=2"
    assert next_link('<https://x/a>; rel="self"') is None


@given(
    urls=st.lists(
        st.from_regex(
            r"https://[a-z]{1,8}\.okta\.com/api/v1/users\?after=[A-Za-z0-9]{1,20}", fullmatch=True
        ),
        min_size=1,
        max_size=4,
    ),
    rels=st.lists(st.sampled_from(["self", "next", "prev", "first"]), min_size=4, max_size=4),
    spaces=st.sampled_from(["", " ", "  "]),
)
def test_next_link_finds_exactly_the_next_url(
    urls: list[str], rels: list[str], spaces: str
) -> None:
    parts = [f'<{url}>;{spaces}rel="{rel}"' for url, rel in zip(urls, rels, strict=False)]
    header = ("," + spaces).join(parts)
    nexts = [url for url, rel in zip(urls, rels, strict=False) if rel == "next"]
    assert next_link(header) == (nexts[0] if nexts else None)


@given(seconds=st.integers(min_value=0, max_value=3600), skew=st.floats(0, 0.999))
def test_oktas_epoch_reset_is_waited_for(seconds: int, skew: float) -> None:
    now = datetime.fromtimestamp(1_795_000_000 + skew, UTC)
    reset = str(1_795_000_000 + seconds)
    waited = parse_retry_after({"x-rate-limit-reset": reset}, now)
    assert waited is not None and waited[1] == "X-Rate-Limit-Reset"
    assert waited[0] == pytest.approx(max(0.0, seconds - skew), abs=1e-5)  # datetime: µs
