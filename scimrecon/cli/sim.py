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
    type=click.Path(dir_okay=False, path_type=Path),
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
def serve(
    world_source: str,
    host: str,
    port: int,
    profile_out: Path,
    save: Path | None,
    faults_file: Path | None,
    seed: int | None,
) -> None:
    """Serve a fixture world on HOST:PORT until interrupted.

    The first line printed is `listening on http://HOST:PORT`.
    """
    from scimrecon.sim.app import SimApp
    from scimrecon.sim.profile_toml import env_lines, profile_toml, write_private
    from scimrecon.sim.server import make_sim_server, server_url

    world = _load_world(world_source)
    if faults_file is not None:
        world["faults"] = _load_faults(faults_file)
    app = SimApp(world, seed=seed)
    try:
        server = make_sim_server(app, host, port)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    # Handlers go in before the first line is printed: a script may signal as soon as it reads it.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        url = server_url(server)
        click.echo(f"listening on {url}")
        env_path = profile_out.with_name(profile_out.name + ".env")
        try:
            profile_out.write_text(profile_toml(app.profile(url)), encoding="utf-8")
            write_private(env_path, env_lines(app.secrets()))
        except OSError as exc:
            raise InputError(f"cannot write {exc.filename}: {exc.strerror}") from None
        click.echo(f"profile: {profile_out}  secrets: {env_path} (source it: . {env_path})")
        server.serve_forever()  # returns once a signal handler has called shutdown()
        if save is not None:
            _save(app, save)
            click.echo(f"saved the world to {save}", err=True)
        click.echo("stopped", err=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.server_close()


def _attach_world_commands() -> None:
    """`sim check` and `sim generate` live with the world model; attach them when present."""
    if importlib.util.find_spec("scimrecon.cli.sim_world") is None:
        return
    module = importlib.import_module("scimrecon.cli.sim_world")
    for name in ("check", "generate"):
        command = getattr(module, name, None)
        if isinstance(command, click.Command):
            sim.add_command(command, name)


_attach_world_commands()
