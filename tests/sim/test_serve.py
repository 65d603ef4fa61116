"""The simulator over a real socket: in a thread, and as `scimrecon sim serve` in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import httpx
from click.testing import CliRunner

from scimrecon.cli.main import cli
from scimrecon.config import Profile
from tests.sim.conftest import ORG_KEY, SCIM, SCIM_KEY
from tests.simharness import DATA, make_sim, served

SCIM_H = {"Authorization": f"Bearer {SCIM_KEY}"}


def test_threaded_server_handles_concurrent_clients(world):
    sim = make_sim(world)
    with served(sim) as base:
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            try:
                with httpx.Client(base_url=base, headers=SCIM_H, timeout=10) as c:
                    for i in range(10):
                        body = {
                            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                            "userName": f"t{n}-{i}@acme.example",
                            "emails": [{"value": f"t{n}-{i}@acme.example", "primary": True}],
                        }
                        assert c.post(f"{SCIM}/Users", json=body).status_code == 201
            except BaseException as exc:  # collected, asserted empty below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        total = httpx.get(f"{base}{SCIM}/Users", headers=SCIM_H, params={"count": 1}).json()
    assert total["totalResults"] == 82
    ids = [u["id"] for u in sim.world["scim_users"]]
    assert len(ids) == len(set(ids))


def test_sim_serve_subprocess_prints_url_first_writes_profile_and_saves_on_sigterm(tmp_path: Path):
    profile = tmp_path / "p.toml"
    saved = tmp_path / "final.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scimrecon.cli.main",
            "sim",
            "serve",
            "--world",
            str(DATA / "world.json"),
            "--profile-out",
            str(profile),
            "--save",
            str(saved),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:")
        base = first.removeprefix("listening on ")
        # The profile and its .env exist as soon as the first line does (the README's tour
        # sources the .env right after waiting for it).
        loaded = Profile.load(profile)
        assert (
            loaded.scim is not None
            and loaded.scim.base_url == f"{base}/atlassian/scim/directory/dir-1"
        )
        env = profile.with_name("p.toml.env")
        assert stat.S_IMODE(env.stat().st_mode) == 0o600
        assert f"export SCIMRECON_ORG_API_KEY={ORG_KEY}\n" in env.read_text()
        assert ORG_KEY not in profile.read_text()
        assert proc.stdout.readline().startswith("profile: ")
        r = httpx.delete(f"{base}{SCIM}/Users/scim-ada", headers=SCIM_H, timeout=10)
        assert r.status_code == 204
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in err
    world = json.loads(saved.read_text())
    assert "scim-ada" not in [u["id"] for u in world["scim_users"]]


def test_sim_serve_rejects_a_bad_world_with_exit_2(tmp_path: Path):
    bad = tmp_path / "w.json"
    bad.write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(cli, ["sim", "serve", "--world", str(bad)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "w.json" in result.output
    assert "Traceback" not in result.output


def test_sim_serve_rejects_bad_faults_with_exit_2(tmp_path: Path):
    faults = tmp_path / "f.json"
    faults.write_text(json.dumps({"/atlassian": {"error_rate": 3}}), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["sim", "serve", "--world", str(DATA / "world.json"), "--faults", str(faults)]
    )
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == f"error: {faults}: faults['/atlassian'].error_rate must be between 0 and 1"
    )


def test_sim_group_lists_serve():
    result = CliRunner().invoke(cli, ["sim", "--help"])
    assert result.exit_code == 0 and "serve" in result.output


def test_sigint_also_stops_cleanly(tmp_path: Path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scimrecon.cli.main",
            "sim",
            "serve",
            "--world",
            str(DATA / "world.json"),
            "--profile-out",
            str(tmp_path / "p.toml"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("listening on ")
        proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err


def test_sim_serve_never_replaces_a_profile_it_did_not_write(tmp_path: Path):
    """`--profile-out scimrecon.toml` in a folder with the real profile (trial 7): refused
    before anything starts, both files left as they were; a profile sim serve wrote earlier
    may be replaced (the tour starts the simulator again and again)."""
    real = tmp_path / "scimrecon.toml"
    real.write_text('[atlassian]\norg_id = "real-org"\n', encoding="utf-8")
    keys = tmp_path / "scimrecon.toml.env"
    keys.write_text("export SCIMRECON_ORG_API_KEY=REAL-PROD-KEY\n", encoding="utf-8")
    for target, named in ((real, real), (tmp_path / "other.toml", None)):
        if named is None:  # a profile of its own, beside somebody's keys
            (tmp_path / "other.toml.env").write_text("export X=1\n", encoding="utf-8")
            named = tmp_path / "other.toml.env"
        result = CliRunner().invoke(
            cli, ["sim", "serve", "--world", "acme-trello", "--port", "0", "--profile-out",
                  str(target)],
        )  # fmt: skip
        assert result.exit_code == 2, result.output
        assert result.output.strip() == (
            f"error: --profile-out {target}: refusing to replace {named}: it is not a file sim "
            "serve wrote (a real profile or its keys? if an older scimrecon sim serve wrote "
            "it, delete it); choose another path"
        )
    assert real.read_text(encoding="utf-8") == '[atlassian]\norg_id = "real-org"\n'
    assert keys.read_text(encoding="utf-8") == "export SCIMRECON_ORG_API_KEY=REAL-PROD-KEY\n"
