"""`scimrecon sim`: run the local simulator of Atlassian, Jira and Entra ID.

`serve` is what support engineers and the demo start: it prints where it listens as its first
line (scripts wait for it), writes a profile pointing every connector at itself plus a 0600
secrets file, and on SIGINT/SIGTERM stops cleanly, saving the final world when asked, so a
reproduced customer run can be attached to a bug report.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from scimrecon.cli.outputs import OutputFile
from scimrecon.errors import InputError
from scimrecon.limits import parse_json, read_document


@click.group("sim")
def sim() -> None:
    """Run and inspect the local API simulator (fixture worlds)."""


def _load_world(source: str) -> dict[str, Any]:
    """Through the world loader (validated) when it is installed; plain JSON otherwise."""
    if importlib.util.find_spec("scimrecon.sim.world") is not None:
        from scimrecon.sim.world import load_world

        return load_world(source)
    path = Path(source)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{source}: cannot read the world: {exc}") from None
    if not isinstance(doc, dict):
        raise InputError(f"{source}: a world must be a JSON object")
    return doc


def _load_faults(path: Path) -> dict[str, Any]:
    from scimrecon.sim.faults import FaultSpecError, validate_spec

    try:
        doc = parse_json(read_document(path, missing="no such file").decode("utf-8"), str(path))
    except ValueError as exc:
        raise InputError(f"{path}: cannot read the faults: {exc}") from None
    try:
        return validate_spec(doc)
    except FaultSpecError as exc:
        raise InputError(f"{path}: {exc}") from None


def _save(app: Any, path: Path) -> None:
    snapshot = app.world_snapshot()
    if importlib.util.find_spec("scimrecon.sim.world") is not None:
        from scimrecon.sim.world import dump_world

        dump_world(snapshot, path)
    else:  # pragma: no cover - only before the world module exists
        path.write_text(json.dumps(snapshot, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@sim.command("serve")
@click.option(
    "--world",
    "world_source",
    required=True,
    metavar="FILE",
    help="World JSON file, a directory holding world.json, or a shipped fixture name.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 = any free port."
)
@click.option(
    "--profile-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("sim-profile.toml"),
    show_default=True,
    help="Where to write the profile; the secrets go to FILE.env (mode 0600).",
)
@click.option(
    "--save",
    type=OutputFile(),
    help="On exit, write the final world here (same format as the fixture).",
)
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help='Faults JSON (replaces the world\'s "faults"): latency, rate limits, errors, outages.',
)
@click.option(
    "--seed", type=int, help="Seed for new ids and faults (default: the world's faults.seed)."
)
@click.option(
    "--smtp",
    is_flag=True,
    help="Also run an SMTP server (loopback, no TLS) and put it in the profile's [smtp]; "
    "GET /_sim/mail lists what it received.",
)
@click.option(
    "--smtp-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port of the SMTP server (0 = any free port).",
)
def serve(
    world_source: str,
    host: str,
    port: int,
    profile_out: Path,
    save: Path | None,
    faults_file: Path | None,
    seed: int | None,
    smtp: bool,
    smtp_port: int,
) -> None:
    """Serve a fixture world on HOST:PORT until interrupted.

    The first line printed is `listening on http://HOST:PORT`. With --smtp, notices sent by
    playbooks land in the simulator's mailbox (`GET /_sim/mail`) instead of anyone's inbox.
    """
    from scimrecon.atomicfile import write_atomic
    from scimrecon.sim.app import SimApp
    from scimrecon.sim.profile_toml import env_lines, profile_toml, sim_file_problem
    from scimrecon.sim.server import make_sim_server, server_url

    world = _load_world(world_source)
    if faults_file is not None:
        world["faults"] = _load_faults(faults_file)
    # Checked before anything starts: the files are written only once the server listens.
    env_file = profile_out.with_name(profile_out.name + ".env")
    for path in (profile_out, env_file):
        problem = sim_file_problem(path)
        if problem is not None:
            raise InputError(
                f"--profile-out {profile_out}: refusing to replace {path}: {problem}; choose "
                "another path"
            )
    app = SimApp(world, seed=seed)
    try:
        server = make_sim_server(app, host, port)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    mail_server = None
    if smtp:
        from scimrecon.sim.mail import SmtpServer

        try:  # loopback whatever --host says: this server has no TLS
            mail_server = SmtpServer(app.mailbox, "127.0.0.1", smtp_port).start()
        except (OSError, RuntimeError) as exc:
            server.server_close()
            raise InputError(
                f"cannot run the SMTP server on 127.0.0.1:{smtp_port}: {exc}"
            ) from None
        app.smtp_address = (mail_server.host, mail_server.port)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    # Handlers go in before the first line is printed: a script may signal as soon as it reads it.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        url = server_url(server)
        # The files are written before the first line: a script that waits for `listening on`
        # may source FILE.env at once (the README's tour does).
        try:
            profile_out.write_text(profile_toml(app.profile(url)), encoding="utf-8")
            write_atomic(env_file, env_lines(app.secrets()), private=True)
        except OSError as exc:
            raise InputError(f"cannot write {exc.filename}: {exc.strerror}") from None
        click.echo(f"listening on {url}")
        click.echo(f"profile: {profile_out}  secrets: {env_file} (source it: . {env_file})")
        if mail_server is not None:
            click.echo(
                f"smtp: {mail_server.host}:{mail_server.port} (received mail: GET {url}/_sim/mail)"
            )
        server.serve_forever()  # returns once a signal handler has called shutdown()
        if save is not None:
            _save(app, save)
            click.echo(f"saved the world to {save}", err=True)
        click.echo("stopped", err=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.server_close()
        if mail_server is not None:
            mail_server.stop()


def _sim_root(url: str | None, obj: object) -> str:
    """The simulator's root URL: --url, else the profile's Atlassian base URL without
    `/atlassian` (the profile `sim serve` wrote). Control endpoints take no credentials and
    exist only on the simulator, so only a loopback address is accepted."""
    from urllib.parse import urlsplit

    if url is None:
        from scimrecon.cli.render import load_profile

        profile = load_profile(obj)
        base = profile.atlassian.base_url if profile and profile.atlassian else None
        if not base or not base.rstrip("/").endswith("/atlassian"):
            raise InputError("no simulator to talk to: pass --url or a profile from `sim serve`")
        url = base.rstrip("/").removesuffix("/atlassian")
    host = urlsplit(url).hostname or ""
    if host not in ("localhost", "::1") and not host.startswith("127."):
        raise InputError(f"--url {url}: the simulator's control endpoints are loopback only")
    return url.rstrip("/")


@sim.command("push")
@click.argument("user")
@click.option("--url", default=None, help="Simulator root URL (default: from the profile).")
@click.pass_context
def push(ctx: click.Context, user: str, url: str | None) -> None:
    """Do what an IdP admin's manual push does: POST USER to the SCIM directory now, and
    push the IdP groups USER is in (their memberships) too.

    For Okta and manual IdPs, whose re-push a person performs in the IdP's console: the
    simulator links the new SCIM entry to whichever account holds the email, exactly as a real
    push would, and adds it to its groups (Okta's Push Groups → Push now). A user who already
    has an entry gets only their groups pushed. USER is the IdP userName (or object id).
    Serves `POST /_sim/push`.
    """
    import httpx

    root = _sim_root(url, ctx.obj)
    try:
        answer = httpx.post(f"{root}/_sim/push", json={"user": user}, timeout=30)
    except httpx.HTTPError as exc:
        raise InputError(f"cannot reach the simulator at {root}: {exc}") from None
    body = (
        answer.json()
        if answer.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    if answer.status_code != 200:
        detail = body.get("error") or answer.text
        raise InputError(f"sim push {user}: {answer.status_code}: {detail}")
    if body.get("pushed"):
        new = " (a new account)" if body.get("new_account") else " (an existing account)"
        click.echo(
            f"pushed {body['userName']}: SCIM entry {body['scim_id']} linked to "
            f"{body['account_id']}{new}"
        )
    else:
        click.echo(f"nothing pushed for {body.get('userName', user)}: {body.get('reason')}")
    pushed = [g["group"] for g in body.get("groups") or [] if g.get("added")]
    if pushed:
        click.echo(f"groups pushed: {', '.join(pushed)}")


def _attach_world_commands() -> None:
    """`sim check` and `sim generate` live with the world model; attach them when present."""
    if importlib.util.find_spec("scimrecon.cli.sim_world") is None:
        return
    module = importlib.import_module("scimrecon.cli.sim_world")
    for name in ("check", "generate", "world-from-export"):
        command = getattr(module, name.replace("-", "_"), None)
        if isinstance(command, click.Command):
            sim.add_command(command, name)
    from scimrecon.cli.capture import capture

    sim.add_command(capture, "capture")


_attach_world_commands()
