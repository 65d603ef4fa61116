"""Secrets: run every command with planted, distinctive credentials, then scan everything the
product wrote or printed for them.

The four credentials (org API key, SCIM key, Jira token, Entra client secret; the Okta API token
in a second test of its own, over an Okta world) are planted in the simulator's world, so they
are the keys the simulator accepts, and handed to the product only
through the documented environment variables (from the 0600 PROFILE.env `sim serve` writes).
Every command of the CLI then runs for real, over a socket, with and without --debug, on the
happy path and on the paths where leaks usually hide: a wrong key (401), a parked and an aborted
run, a saved plan, HTML reports. (`demo` is left out: it runs its embedded simulator with the
fixture's own keys and never reads the credentials.) Afterwards every file under the working
folder (state file and its WAL, plans, reports, target lists, HOME, the saved world) and every
stdout and stderr is scanned for each secret, its Basic-auth encoding and a prefix of it.

Two files hold the secrets by design and are left out, and the test says so: the world the
simulator was started from (its input) and PROFILE.env (the secrets file, checked to be 0600).
The saved world is the fixture format, whose `api_key`/`api_token`/`client_secret` fields are
the simulator's own keys: those four fields are blanked, and the rest of it is scanned.
"""

from __future__ import annotations

import base64
import json
import re
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.procs import read_env, scimrecon, sim_serve
from tests.reliability.worlds import plant_secrets, reprovision_world

pytestmark = pytest.mark.reliability

PLANTED = {
    "org": "ATCTT3xFfGN0PLANTEDorgKey7f3a9c1e5b2d",
    "scim": "ATCTT3xFfGN0PLANTEDscimKey4e8b2a6c0d9f",
    "jira": "ATATT3xFfGF0PLANTEDjiraToken1c7e3b9a5d",
    "entra": "PLANTED~EntraClientSecret8d2f6a0c4e",
}
WRONG_SCIM = "ATCTT3xFfGN0PLANTEDwrongScimKey3b5d7f9a"


def _needles(jira_email: str) -> dict[str, str]:
    needles: dict[str, str] = {}
    for name, value in [*PLANTED.items(), ("wrong-scim", WRONG_SCIM)]:
        needles[name] = value
        needles[f"{name} (prefix)"] = value[:16] if name != "entra" else value[:20]
    basic = base64.b64encode(f"{jira_email}:{PLANTED['jira']}".encode()).decode()
    needles["jira (Basic auth)"] = basic
    needles["jira (base64 token)"] = base64.b64encode(PLANTED["jira"].encode()).decode()[:24]
    return needles


def _blank_keys(world: dict[str, Any]) -> dict[str, Any]:
    """The saved world without the four fields that are the simulator's own keys."""
    world["org"]["api_key"] = ""
    for directory in world["directories"]:
        directory["api_key"] = ""
    world["jira"]["api_token"] = ""
    world["idp"]["client_secret"] = ""
    return world


def test_no_command_writes_or_prints_a_secret(tmp_path: Path) -> None:
    world, emails = reprovision_world(6, 20)
    world = plant_secrets(world, PLANTED)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    work = tmp_path / "work"
    (work / "home").mkdir(parents=True)
    world_file = inputs / "world.json"
    world_file.write_text(json.dumps(world), encoding="utf-8")
    targets = work / "targets.csv"
    targets.write_text("email\n" + "".join(f"{e}\n" for e in emails), encoding="utf-8")
    saved = work / "saved-world.json"
    outputs: list[tuple[str, str]] = []
    codes: dict[str, int] = {}

    with sim_serve(world_file, work, "--save", str(saved)) as sim:
        secrets_file = Path(f"{sim.profile}.env")
        assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
        assert read_env(secrets_file) == {
            "SCIMRECON_SCIM_TOKEN": PLANTED["scim"],
            "SCIMRECON_ORG_API_KEY": PLANTED["org"],
            "SCIMRECON_JIRA_TOKEN": PLANTED["jira"],
            "SCIMRECON_ENTRA_CLIENT_SECRET": PLANTED["entra"],
        }
        env = sim.env(HOME=str(work / "home"))
        scim_id = next(u["id"] for u in world["scim_users"] if u["userName"] == emails[0])

        def run(label: str, *args: str, extra: dict[str, str] | None = None) -> int:
            done = scimrecon(args, {**env, **(extra or {})}, work)
            outputs.append((f"{label} stdout", done.stdout))
            outputs.append((f"{label} stderr", done.stderr))
            codes[label] = done.returncode
            return done.returncode

        reads: list[tuple[str, ...]] = []
        for debug in ((), ("--debug",)):
            tag = " --debug" if debug else ""
            reads += [
                (f"config show{tag}", *debug, "config", "show", "--format", "json"),
                (f"config check{tag}", *debug, "config", "check"),
                (f"scim find{tag}", *debug, "scim", "find", emails[0], "--format", "json"),
                (f"scim get{tag}", *debug, "scim", "get", scim_id),
                (f"accounts show{tag}", *debug, "accounts", "show", emails[0]),
                (f"idp status{tag}", *debug, "idp", "status", "--format", "json"),
            ]
        reads += [
            ("analyze --live", "analyze", "--live", "--as-of", "2026-11-23", "--format", "json",
             "--html", "analyze.html", "--targets-out", "trello-only.csv", "--class",
             "trello-only"),
            ("reconcile", "reconcile", "--world", str(world_file), "--all", "--format", "json"),
            ("reconcile --live", "--debug", "reconcile", "--live", "--all", "--format", "json"),
            ("sim check", "sim", "check", str(world_file), "--format", "json"),
            ("sim generate", "sim", "generate", "--accounts", "30", "--out", "generated.json"),
            ("playbooks", "playbooks", "--format", "json"),
            ("playbooks show", "playbooks", "show", "reprovision"),
            ("sim capture", "--debug", "sim", "capture", "--out", "twin.json", "--targets",
             str(targets)),
            ("rehearse", "--debug", "rehearse", "reprovision", "--targets", str(targets),
             "--out", "rehearsed-plan.json", "--format", "json"),
        ]  # fmt: skip
        with ThreadPoolExecutor(max_workers=2) as pool:  # independent reads: two at a time
            list(pool.map(lambda item: run(*item), reads))
        run("idp pause", "--debug", "idp", "pause", "--yes")
        run("idp resume", "--debug", "idp", "resume")
        run("idp provision", "idp", "provision", emails[-1])
        # A wrong key: the 401 and its message are where keys leak.
        run("scim find (wrong key)", "--debug", "scim", "find", emails[0],
            extra={"SCIMRECON_SCIM_TOKEN": WRONG_SCIM})  # fmt: skip
        run("run (wrong key)", "run", "reprovision", "--targets", str(targets), "--yes",
            "--param", "provision_mode=cycle",
            "--state", "wrong-key.db", extra={"SCIMRECON_SCIM_TOKEN": WRONG_SCIM})  # fmt: skip
        run("plan", "--debug", "plan", "reprovision", "--targets", str(targets),
            "--param", "provision_mode=cycle",
            "--param", "wait_login_days=1", "--out", "plan.json", "--format", "json")  # fmt: skip
        run("run", "--debug", "run", "reprovision", "--targets", str(targets), "--yes",
            "--param", "provision_mode=cycle",
            "--plan", "plan.json", "--param", "wait_login_days=1", "--max-wait", "0")  # fmt: skip
        run("status", "status", "--format", "json")
        run("resume", "--debug", "resume", "1", "--yes", "--max-wait", "0")
        run("abort", "--debug", "abort", "1", "--undo", "--yes")  # the undo is scanned too
        run("undo", "--debug", "undo", "1", "--yes", "--dry-run")
        run(
            "run 2",
            "run",
            "reprovision",
            "--targets",
            str(targets),
            "--yes",
            "--param",
            "provision_mode=cycle",
            "--max-wait",
            "5",
        )
        for fmt in ("table", "json"):
            run(f"status {fmt}", "status", "2", "--format", fmt)
            run(f"runs {fmt}", "runs", "--format", fmt)
            run(f"report {fmt}", "report", "2", "--format", fmt)
        run("report csv", "report", "2", "--format", "csv")
        run("log", "log", "1", "--format", "jsonl")
        run("log json", "log", "1", "--format", "json")
        run("log table", "log", "2")
        # A key pasted into a URL (issue 11 point 5): refused, and never printed back. The
        # profile lives with the inputs (it holds the key by construction), not in `work`.
        profile = sim.profile.read_text("utf-8")
        url = re.search(r'base_url = "(http://127\.0\.0\.1:\d+/atlassian/scim[^"]*)"', profile)
        assert url is not None
        for name, bad in [
            ("query", f"{url[1]}?api_key={PLANTED['scim']}"),
            ("userinfo", url[1].replace("http://", f"http://me:{PLANTED['scim']}@")),
        ]:
            leaky = inputs / f"key-in-url-{name}.toml"
            leaky.write_text(profile.replace(url[1], bad), "utf-8")
            for label, args in [
                (f"config show (key in URL {name})", ("config", "show", "--format", "json")),
                (f"scim find (key in URL {name})", ("--debug", "scim", "find", emails[0])),
            ]:
                run(label, *args, extra={"SCIMRECON_PROFILE": str(leaky)})
        server_err = sim.stop()
    outputs.append(("sim serve stderr", server_err))

    # The commands did what they were meant to (a scan of error messages alone proves little).
    assert codes["config check"] == 0, outputs
    assert codes["reconcile --live"] == 0, outputs  # Graph read with the client secret
    assert codes["scim find"] == 0 and codes["accounts show"] == 0
    assert codes["scim find (wrong key)"] != 0 and codes["run (wrong key)"] != 0
    assert (codes["plan"], codes["run"], codes["resume"], codes["abort"]) == (0, 3, 3, 0)
    assert codes["run 2"] == 0 and codes["undo"] == 0
    assert codes["sim capture"] == 0 and codes["rehearse"] == 0  # the twin is scanned too
    assert {c for label, c in codes.items() if "key in URL" in label} == {2}
    assert {p.name for p in work.iterdir()} >= {
        "analyze.html", "trello-only.csv", "plan.json", "generated.json", "saved-world.json",
        "wrong-key.db", ".scimrecon", "twin.json", "rehearsed-plan.json",
    }  # fmt: skip

    needles = _needles(world["jira"]["email"])
    # The scanner itself works: the simulator's input world holds every planted key.
    planted = world_file.read_bytes()
    assert all(planted.count(v.encode()) for v in PLANTED.values())
    hits: list[str] = []
    for label, text in outputs:
        hits += [f"{label}: {name}" for name, needle in needles.items() if needle in text]
    skipped = {secrets_file}
    for path in sorted(p for p in work.rglob("*") if p.is_file() and p not in skipped):
        data = path.read_bytes()
        if path == saved:
            data = json.dumps(_blank_keys(json.loads(data))).encode()
        where = str(path.relative_to(work))
        hits += [f"{where}: {n}" for n, needle in needles.items() if needle.encode() in data]
    assert hits == []


OKTA = "00PLANTEDoktaSswsToken5e1b9d3f7a2c"
WRONG_OKTA = "00PLANTEDwrongOktaToken8c4a0e6b2d"


def test_no_okta_command_writes_or_prints_the_okta_token(tmp_path: Path) -> None:
    """The Okta API token (SSWS) the same way: planted in an Okta world, handed over only in
    SCIMRECON_OKTA_TOKEN, and scanned for in everything Okta commands print or write, with
    --debug, on a wrong token (401) and through a whole reprovision run."""
    from scimrecon.sim.world import load_world
    from tests.reliability.worlds import without_groups

    world = without_groups(load_world("okta"))  # nobody at a terminal to push groups
    world["idp"]["okta"]["api_token"] = OKTA
    inputs, work = tmp_path / "inputs", tmp_path / "work"
    inputs.mkdir()
    (work / "home").mkdir(parents=True)
    world_file = inputs / "world.json"
    world_file.write_text(json.dumps(world), encoding="utf-8")
    targets = work / "targets.csv"
    emails = ["ada.lovelace@acme.example", "kenji.watanabe@acme.example"]
    targets.write_text("email\n" + "".join(f"{e}\n" for e in emails), encoding="utf-8")
    outputs: list[tuple[str, str]] = []
    codes: dict[str, int] = {}
    with sim_serve(world_file, work) as sim:
        secrets_file = Path(f"{sim.profile}.env")
        assert read_env(secrets_file)["SCIMRECON_OKTA_TOKEN"] == OKTA
        env = sim.env(HOME=str(work / "home"))

        def run(label: str, *args: str, extra: dict[str, str] | None = None) -> None:
            done = scimrecon(args, {**env, **(extra or {})}, work)
            outputs.append((f"{label} stdout", done.stdout))
            outputs.append((f"{label} stderr", done.stderr))
            codes[label] = done.returncode

        run("config show", "--debug", "config", "show", "--format", "json")
        run("idp status", "--debug", "idp", "status", "--format", "json")
        run("idp status (wrong token)", "--debug", "idp", "status",
            extra={"SCIMRECON_OKTA_TOKEN": WRONG_OKTA})  # fmt: skip
        run("idp pause", "--debug", "idp", "pause", "--yes")
        run("idp resume", "--debug", "idp", "resume", "--restore", "create,profile")
        run("idp provision", "--debug", "idp", "provision", emails[0])
        run("reconcile --live", "--debug", "reconcile", "--live", "--all", "--format", "json")
        run("run (wrong token)", "--debug", "run", "reprovision", "--targets", str(targets),
            "--yes", "--state", "wrong.db", extra={"SCIMRECON_OKTA_TOKEN": WRONG_OKTA})  # fmt: skip
        run("run", "--debug", "run", "reprovision", "--targets", str(targets), "--yes")
        run("log", "log", "1", "--format", "jsonl")
        run("report", "report", "1", "--format", "json")
        outputs.append(("sim serve stderr", sim.stop()))

    assert (codes["idp status"], codes["idp pause"], codes["idp resume"]) == (0, 0, 0), outputs
    assert codes["idp status (wrong token)"] != 0 and codes["run (wrong token)"] != 0
    assert codes["idp provision"] == 4  # refused: the SCIM entry is still there
    assert (codes["reconcile --live"], codes["run"]) == (0, 0), outputs
    needles = {
        "okta": OKTA,
        "okta (prefix)": OKTA[:16],
        "wrong okta": WRONG_OKTA,
        "wrong okta (prefix)": WRONG_OKTA[:16],
    }
    hits = [f"{label}: {n}" for label, text in outputs for n, v in needles.items() if v in text]
    for path in sorted(p for p in work.rglob("*") if p.is_file() and p != secrets_file):
        data = path.read_bytes()
        where = str(path.relative_to(work))
        hits += [f"{where}: {n}" for n, needle in needles.items() if needle.encode() in data]
    assert hits == []
