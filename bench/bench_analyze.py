"""`analyze` on a generated 1,000,000-row Directory export: wall time and peak memory, against
pandas.read_csv plus the same filters (when pandas is installed).

The budget (issue 14): peak memory <= 100 MB, wall time at most the pandas baseline's (1.0x),
measured in the same run. Each run is a fresh child process; its peak memory is the child's
maximum resident set size (resource.getrusage ru_maxrss), i.e. what the operating system had to
give it. After the timed runs one more child runs `analyze` under cProfile on the export's first
--profile-rows rows and prints "where the time goes": the functions with the most time of their
own, as a share of the whole (cProfile slows Python calls down, so read the shares, not the
seconds; the timed runs are never profiled).

    .venv/bin/python bench/bench_analyze.py [--rows 1000000] [--seed 1] [--keep FILE] [--repeat 3]
        [--profile-rows 200000] [--top 10]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import random
import re
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

AS_OF = date(2026, 11, 23)
#: issue 14's budget: at most 100 MB, and no slower than pandas read_csv + the same filters
MAX_PEAK_BYTES = 100e6
MAX_RATIO = 1.0
PRODUCTS = [
    ("Jira Software", "acme", 0.70),
    ("Confluence", "acme", 0.60),
    ("Jira Service Management", "acme", 0.10),
    ("Trello", "trello", 0.12),
]
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _fmt(d: date) -> str:
    return f"{d.day:02d} {_MONTHS[d.month - 1]} {d.year}"


def generate(path: Path, rows: int, seed: int) -> None:
    """A plausible export: most users active and recent, a tail of stale and never-used
    licences, a few percent Trello-only, some outside the org's domain."""
    rng = random.Random(seed)
    header = ["User id", "User name", "email", "User status", "Added to org", "Org role"]
    for product, site, _ in PRODUCTS:
        header += [f"{product} - {site}", f"Last seen in {product} - {site}"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for n in range(rows):
            added = AS_OF - timedelta(days=rng.randrange(5, 2000))
            domain = "acme.example" if rng.random() < 0.97 else "gmail.example"
            status = "Active" if rng.random() < 0.96 else "Deactivated"
            role = "Org admin" if rng.random() < 0.001 else "Member"
            row = [f"5b10ac8d82e05b22cc{n:06x}", f"User {n}", f"user{n}@{domain}", status,
                   _fmt(added), role]  # fmt: skip
            trello_only = rng.random() < 0.03
            for product, _site, share in PRODUCTS:
                has = (product == "Trello") if trello_only else rng.random() < share
                if not has:
                    row += ["No", ""]
                    continue
                r = rng.random()
                if r < 0.04:
                    seen = "Never accessed"
                else:
                    # 85 % seen in the last 60 days, the rest spread over two years
                    back = rng.randrange(0, 60) if r < 0.89 else rng.randrange(60, 730)
                    seen = _fmt(AS_OF - timedelta(days=back))
                row += ["Yes", seen]
            writer.writerow(row)


# the real command line, its JSON written to a file as a user's shell would; the figures are
# read back from that file by the parent, and the child reports its own time and memory
OURS = (
    "import json, resource, sys, time\n"
    "start = time.perf_counter()\n"
    "from scimrecon.cli.main import cli\n"
    "try:\n"
    "    cli.main(['analyze', {path!r}, '--as-of', '{as_of}', '--domain', 'acme.example',\n"
    "              '--tier', '2000000', '--format', 'json'], standalone_mode=False)\n"
    "finally:\n"
    "    sys.stdout.flush()\n"
    "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
    "print(json.dumps({{'seconds': time.perf_counter() - start,\n"
    "    'cpu_seconds': usage.ru_utime + usage.ru_stime,\n"
    "    'max_rss_mib': usage.ru_maxrss / 1024,\n"
    "    'vm_hwm_mib': int(hwm[0].split()[1]) / 1024 if hwm else None}}), file=sys.stderr)\n"
)

# the same work the idiomatic pandas way: parse and validate every date (errors="raise", as
# analyze refuses a bad date), refuse duplicate users, compute the same figures and lists, and
# write the lists out as JSON
PANDAS = """
import json, resource, time
start = time.perf_counter()
import pandas as pd
as_of = pd.Timestamp("{as_of}")
df = pd.read_csv({path!r}, dtype=str, keep_default_na=False)
if df["User id"].duplicated().any():
    raise SystemExit("duplicate user")
products = [c for c in df.columns if " - " in c and not c.startswith("Last seen in ")]
active = df["User status"].eq("Active")
access = {{p: df[p].eq("Yes") for p in products}}
any_access = pd.concat(access.values(), axis=1).any(axis=1)
# Guard Standard bills managed accounts and external users alike: the rows off the org's
# domain with access on its sites are external users (decision 115), so the domain splits
# the bill, it does not shrink it
billable = active & any_access
seen = {{}}
for p in products:
    text = df["Last seen in " + p]
    seen[p] = pd.to_datetime(text.where(~text.isin(["Never accessed", ""])), format="%d %b %Y")
stats = []
for p in products:
    age = (as_of - seen[p][access[p]]).dt.days
    never = int((df["Last seen in " + p][access[p]] == "Never accessed").sum())
    stats.append(dict(product=p, users=int(access[p].sum()), active_30d=int((age < 30).sum()),
                      active_90d=int((age < 90).sum()), never_accessed=never))
others = pd.concat([access[p] for p in products if p != "Trello - trello"], axis=1).any(axis=1)
only = access["Trello - trello"] & ~others
admin = df["Org role"].str.lower().str.contains("admin")
added = pd.to_datetime(df["Added to org"], format="%d %b %Y")
recent = (as_of - added).dt.days < 30
latest = pd.concat([seen[p].where(access[p]) for p in products], axis=1).max(axis=1)
never_all = latest.isna() & any_access
stale = (as_of - latest).dt.days >= 90
inactive = active & any_access & (stale | (never_all & ((as_of - added).dt.days > 90)))
protected = admin | recent
columns = ["email", "User id", "User name"]
trello_only = df[billable & only & ~protected][columns]
inactive_list = df[inactive & ~protected][columns]
with open({out!r}, "w") as fh:
    fh.write(json.dumps(dict(users=len(df), billable=int(billable.sum()), products=stats)))
    fh.write(trello_only.to_json(orient="records"))
    fh.write(inactive_list.to_json(orient="records"))
usage = resource.getrusage(resource.RUSAGE_SELF)
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")]
print(json.dumps({{"seconds": time.perf_counter() - start,
    "cpu_seconds": usage.ru_utime + usage.ru_stime, "max_rss_mib": usage.ru_maxrss / 1024,
    "vm_hwm_mib": int(hwm[0].split()[1]) / 1024 if hwm else None,
    "users": len(df), "billable": int(billable.sum()), "trello_only": len(trello_only),
    "inactive": len(inactive_list)}}))
"""


# `analyze` again, under cProfile; the output goes nowhere, the profile's top entries (own
# time, the time spent in the function itself) come back as JSON on stdout
PROFILE = (
    "import contextlib, cProfile, json, os, pstats\n"
    "from scimrecon.cli.main import cli\n"
    "profile = cProfile.Profile()\n"
    "with open(os.devnull, 'w') as sink, contextlib.redirect_stdout(sink):\n"
    "    profile.runcall(cli.main, ['analyze', {path!r}, '--as-of', '{as_of}', '--domain',\n"
    "        'acme.example', '--tier', '2000000', '--format', 'json'], standalone_mode=False)\n"
    "stats = pstats.Stats(profile).stats\n"
    "top = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:{top}]\n"
    "print(json.dumps({{'total': sum(v[2] for v in stats.values()),\n"
    "    'top': [[f, line, fn, v[1], v[2]] for (f, line, fn), v in top]}}))\n"
)


def _where(file: str, line: int, function: str) -> str:
    """A profile entry's name: `recon/export.py:271 parse` for our code, `json/encoder.py:205
    iterencode` for the standard library, the C function's own name for built-ins."""
    if file == "~":
        return re.sub(r" at 0x[0-9a-f]+", "", function)  # no address: stable across runs
    parts = Path(file).parts
    keep = parts.index("scimrecon") + 1 if "scimrecon" in parts else len(parts) - 2
    return f"{'/'.join(parts[keep:])}:{line} {function}"


def where_the_time_goes(path: Path, rows: int, top: int, tmp: Path) -> list[str]:
    """The profile table: the first `rows` rows of the export, analysed under cProfile."""
    head = tmp / "profiled.csv"
    with path.open(encoding="utf-8") as src, head.open("w", encoding="utf-8") as dst:
        for n, line in enumerate(src):
            if n > rows:
                break
            dst.write(line)
    code = PROFILE.format(path=str(head), as_of=AS_OF.isoformat(), top=top)
    found = json.loads(_child(["-c", code], capture_output=True).stdout.strip().splitlines()[-1])
    total = found["total"] or 1.0
    lines = [
        f"where the time goes (cProfile, first {rows:,} rows, {total:.1f} s profiled; own "
        "time as a share of the whole; a C iterator's time counts in the loop over it):",
        "| function | calls | own time |",
        "| --- | ---: | ---: |",
    ]
    for file, line, function, calls, own in found["top"]:
        lines.append(f"| {_where(file, line, function)} | {calls:,} | {100 * own / total:.0f} % |")
    return lines


SUMMARY = (
    "import json, sys\n"
    "doc = json.load(open(sys.argv[1], encoding='utf-8'))\n"
    "print(json.dumps({'users': doc['users'], 'billable': doc['billable'],\n"
    "    'trello_only': len(doc['classes']['trello-only']),\n"
    "    'inactive': len(doc['classes']['inactive'])}))\n"
)


def _child(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], check=True, text=True, **kwargs)  # type: ignore[call-overload,no-any-return]


def run(code: str, stdout: Path | None = None) -> dict[str, float]:
    """Run `code` in a fresh interpreter; its last line (stdout, or stderr when stdout goes
    to a file) is a JSON object of figures.

    The parent stays small on purpose: on Linux a child's ru_maxrss starts from the forking
    parent's resident size, so a parent that had loaded pandas or a big JSON document would
    inflate every figure after it. The output is summarised in a child for the same reason.
    """
    if stdout is None:
        out = _child(["-c", code], capture_output=True).stdout
        return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]
    with stdout.open("w", encoding="utf-8") as fh:
        done = _child(["-c", code], stdout=fh, stderr=subprocess.PIPE)
    figures: dict[str, float] = json.loads(done.stderr.strip().splitlines()[-1])
    summary = _child(["-c", SUMMARY, str(stdout)], capture_output=True).stdout
    figures.update(json.loads(summary))
    return figures


def _best(runs: list[dict[str, float]]) -> dict[str, float]:
    """The fastest wall time and CPU time, the largest peak memory, of repeated runs."""
    best = dict(runs[0])
    best["seconds"] = min(r["seconds"] for r in runs)
    best["cpu_seconds"] = min(r["cpu_seconds"] for r in runs)
    best["max_rss_mib"] = max(r["max_rss_mib"] for r in runs)
    hwm = [r["vm_hwm_mib"] for r in runs if r.get("vm_hwm_mib") is not None]
    best["vm_hwm_mib"] = max(hwm) if hwm else None
    best["runs"] = len(runs)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="Also keep the generated export here.")
    parser.add_argument(
        "--repeat", type=int, default=3, help="Runs of each, alternating; the best time counts."
    )
    parser.add_argument(
        "--profile-rows", type=int, default=200_000, help="Rows profiled (0: no profile)."
    )
    parser.add_argument("--top", type=int, default=10, help="Functions in the profile table.")
    args = parser.parse_args()
    have_pandas = importlib.util.find_spec("pandas") is not None  # not imported: see run()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "users.csv"
        generate(path, args.rows, args.seed)
        size = path.stat().st_size / 2**20
        ours_runs, pandas_runs = [], []
        # alternate the two so that a burst of load on a shared machine hits both alike
        for _ in range(max(1, args.repeat)):
            code = OURS.format(path=str(path), as_of=AS_OF.isoformat())
            ours_runs.append(run(code, Path(tmp) / "out.json"))
            if have_pandas:
                out = str(Path(tmp) / "pandas.json")
                code = PANDAS.format(path=str(path), as_of=AS_OF.isoformat(), out=out)
                pandas_runs.append(run(code))
        profile = (
            where_the_time_goes(path, min(args.profile_rows, args.rows), args.top, Path(tmp))
            if args.profile_rows > 0
            else []
        )
    ours = _best(ours_runs)
    baseline = _best(pandas_runs) if pandas_runs else None
    print(f"export: {args.rows} rows, {size:.1f} MiB")
    print(
        f"scimrecon analyze: {ours['seconds']:.2f} s wall, {ours['cpu_seconds']:.2f} s CPU, "
        f"peak {ours['max_rss_mib']:.0f} MiB ru_maxrss, {ours['vm_hwm_mib'] or 0:.0f} MiB VmHWM "
        f"(budget {MAX_PEAK_BYTES / 1e6:.0f} MB); billable {ours['billable']}, "
        f"trello-only {ours['trello_only']}, inactive {ours['inactive']}"
    )
    ok = ours["max_rss_mib"] * 2**20 <= MAX_PEAK_BYTES
    if baseline is None:
        print("pandas baseline: pandas not installed (.venv/bin/pip install pandas to compare)")
    else:
        ratio = ours["seconds"] / baseline["seconds"]
        cpu_ratio = ours["cpu_seconds"] / baseline["cpu_seconds"]
        print(
            f"pandas read_csv + filters: {baseline['seconds']:.2f} s wall, "
            f"{baseline['cpu_seconds']:.2f} s CPU, peak {baseline['max_rss_mib']:.0f} MiB; "
            f"billable {baseline['billable']}, trello-only {baseline['trello_only']}, "
            f"inactive {baseline['inactive']}"
        )
        print(
            f"ratio scimrecon / pandas: wall {ratio:.2f}, CPU {cpu_ratio:.2f} "
            f"(budget {MAX_RATIO:.1f})"
        )
        ok = ok and ratio <= MAX_RATIO
        same = all(ours[k] == baseline[k] for k in ("billable", "trello_only", "inactive"))
        print("figures agree with pandas" if same else "FIGURES DIFFER FROM PANDAS")
        ok = ok and same
    for line in profile:
        print(line)
    print(json.dumps({"ours": ours, "pandas": baseline, "within_budget": ok}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
