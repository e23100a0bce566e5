"""authkeeper next to Better Auth 1.7.25: same machine, same PostgreSQL, same load generator.

Run from the repository root:

    .venv/bin/python bench/run.py [--duration 15] [--warmup 5] [--markdown]

It creates two fresh PostgreSQL databases, starts ``authkeeper serve`` and the Better Auth
server in ``bench/reference/``, signs a user up on each, checks that the endpoints answer what
they should, then measures both with wrk (one thread): get-session, sign-in, get-session while
sign-in runs flat out, server CPU time per request, and each server's memory. It prints a
table, the conditions of the run (load averages, CPU, versions) and writes the same as
Markdown to ``bench/results/``. See bench/README.md for what the numbers mean.

With ``--baseline REV`` it compares authkeeper with itself instead, to show that a change costs
no performance:

    .venv/bin/python bench/run.py --baseline REV [--current REV] [--runs 3] [--duration 10] [--warmup 3] [--markdown]

With ``--baseline HEAD --current HEAD --current-env AUTHKEEPER_JWT__ENABLED=true`` the same code
runs on both sides and only the current one has the jwt plugin on: the get-session rows then
show what the ``set-auth-jwt`` header costs (a token signed on every get-session).

REV (``HEAD~3``, a sha, ``origin/main``) is exported with ``git archive`` (the work tree is not
touched) and installed, not editable, into its own virtualenv under ``bench/.cache/``, reused
for the same commit. The current side is the working tree, run from the project's ``.venv``
(or, with ``--current REV``, another archived revision). Each run starts a fresh server on a
fresh database and measures get-session and sign-in; runs alternate (B, C, B, C, ...). The
report gives every run, the medians, and current/baseline for server CPU per request, judged
against a 5% target.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REFERENCE = BENCH / "reference"
SIGN_IN_LUA = BENCH / "sign-in.lua"
DATABASES = {"authkeeper": "bench_authkeeper", "betterauth": "bench_betterauth"}
# --baseline mode: one database per side, made afresh for every run.
COMPARE_DATABASES = {"baseline": "bench_ak_baseline", "current": "bench_ak_current"}
REPO = BENCH.parent
CACHE = BENCH / ".cache"
SECRET = "bench-authkeeper-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
# authkeeper's settings in both modes: development mode with a fixed secret, no rate limit,
# no lockout, mail dropped.
AUTHKEEPER_ENV = {
    "AUTHKEEPER_ENV": "development",
    "AUTHKEEPER_SECRET": SECRET,
    "AUTHKEEPER_RATE_LIMIT": '{"enabled": false}',
    "AUTHKEEPER_LOCKOUT": '{"enabled": false}',
    "AUTHKEEPER_MAIL": '{"backend": "none"}',
}
# --baseline mode also pins the argon2id parameters (today's defaults), so that both revisions
# hash with the same cost even if a default changed in between.
COMPARE_ENV = {
    **AUTHKEEPER_ENV,
    "AUTHKEEPER_PASSWORD__ARGON2_MEMORY_KIB": "19456",
    "AUTHKEEPER_PASSWORD__ARGON2_TIME_COST": "2",
    "AUTHKEEPER_PASSWORD__ARGON2_PARALLELISM": "1",
}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """Stops the run; the message says why."""


# --------------------------------------------------------------------------- processes


def read_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a whole process (all its threads)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rpartition(")")[2].split()[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def listening_pid(port: int, root_pid: int) -> int:
    """The process (``root_pid`` or one of its descendants) that listens on ``port``: the
    actual server, not a launcher or a migration child."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                next(fh)
                for line in fh:
                    parts = line.split()
                    local, state, inode = parts[1], parts[3], parts[9]
                    if state == "0A" and int(local.rpartition(":")[2], 16) == port:
                        inodes.add(f"socket:[{inode}]")
        except OSError:
            continue
    for pid in descendants(root_pid):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    raise BenchError(f"no process under pid {root_pid} listens on port {port}")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores)."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / CLOCK_TICKS


def _postgres_ours(pid: int) -> bool:
    """A PostgreSQL process working for the benchmark: a backend of one of its databases, or
    one of the server's own background processes (shared by everyone, small)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    if not cmdline.startswith("postgres: "):
        return False
    if any(f" {name} " in cmdline for name in [*DATABASES.values(), *COMPARE_DATABASES.values()]):
        return True
    return not re.search(r"\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]", cmdline)


@dataclass(frozen=True)
class CpuReading:
    at: float  # monotonic seconds
    busy: float  # CPU seconds all cores spent busy since boot
    processes: dict[int, float]  # our processes still running: pid -> CPU seconds so far
    reaped: float  # CPU seconds of this script and its reaped children


class CpuAccount:
    """How much CPU the rest of the machine used while the benchmark ran: busy time of all
    cores, minus the servers, this script and its children (wrk), and the PostgreSQL
    processes serving the benchmark databases. Approximate (the CPU time of a backend that
    exits between two readings is counted as someone else's), but it shows whether other
    work was competing for the cores."""

    def __init__(self) -> None:
        self.start = self.mark()

    def mark(self) -> CpuReading:
        import resource

        busy = machine_busy_seconds()
        # The servers, wrk processes still running, and PostgreSQL: each pid once.
        pids = set(descendants(os.getpid())) - {os.getpid()}
        pids |= {int(e) for e in os.listdir("/proc") if e.isdigit() and _postgres_ours(int(e))}
        processes = {}
        for pid in pids:
            try:
                processes[pid] = cpu_seconds(pid)
            except OSError:
                continue
        reaped = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            reaped += usage.ru_utime + usage.ru_stime
        return CpuReading(time.monotonic(), busy, processes, reaped)

    @staticmethod
    def _ours(start: CpuReading, end: CpuReading) -> float:
        """Our CPU seconds between two readings: per process, so that a process that exits
        in between does not take its earlier time away from the total."""
        live = sum(cpu - start.processes.get(pid, 0.0) for pid, cpu in end.processes.items())
        return live + end.reaped - start.reaped

    def _other(self, start: CpuReading) -> tuple[float, float, float]:
        end = self.mark()
        ours = self._ours(start, end)
        return end.at - start.at, max(end.busy - start.busy - ours, 0.0), ours

    def other_share(self, since: CpuReading) -> float:
        """Percent of the machine's cores used by other processes since ``since``."""
        wall, other, _ = self._other(since)
        return 100 * other / (max(wall, 1e-9) * (os.cpu_count() or 1))

    def summary(self) -> str:
        wall, other, ours = self._other(self.start)
        cores = os.cpu_count() or 1
        return (f"{other:.0f} CPU-seconds used by other processes during the {wall:.0f} s of measurements "
                f"({100 * other / (wall * cores):.0f}% of {cores} cores; the benchmark itself used {ours:.0f} CPU-seconds)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    key: str
    label: str
    port: int
    cmd: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    pid: int = 0
    cookie: str = ""
    # Body sizes of the verified answers: every answer wrk counts must be at least this big
    # (a 200 without a session, e.g. ``null`` from get-session, would be much smaller).
    min_bytes: dict[str, int] = field(default_factory=dict)
    email: str = ""
    password: str = ""
    results: dict[str, Any] = field(default_factory=dict)
    account: CpuAccount | None = None
    # Wait until the server is idle before each measured run (--baseline mode): the requests a
    # warm-up left queued (up to one per connection; a sign-in's hash goes on after wrk hangs up)
    # would otherwise be charged to the measurement.
    settle: bool = False

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, path: str) -> str:
        return f"{self.origin}/api/auth{path}"

    def start(self, timeout: float = 90.0) -> None:
        import httpx

        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                self.cmd, cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.label} exited at start (status {self.proc.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(self.api("/ok"), timeout=2).status_code == 200:
                    self.pid = listening_pid(self.port, self.proc.pid)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise BenchError(f"{self.label} did not answer {self.api('/ok')} within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


# --------------------------------------------------------------------------- checks


def _refuse(server: Server, what: str, status: int, body: str) -> BenchError:
    hint = ""
    if status in (401, 403, 429):
        hint = " (rate limiting, lockout, an origin check or bad credentials is in the way: the benchmark would be meaningless)"
    return BenchError(f"{server.label}: {what} answered {status}{hint}: {body[:300]}")


def prepare_user(server: Server) -> None:
    """Sign up on ``server``, keep the session cookie, and check that get-session and sign-in
    answer exactly what the benchmark expects."""
    import httpx

    server.email = f"bench-{secrets.token_hex(4)}@example.com"
    server.password = f"Bench-{secrets.token_urlsafe(12)}"
    headers = {"Origin": server.origin, "Content-Type": "application/json"}
    with httpx.Client(timeout=30) as client:
        body = {"email": server.email, "password": server.password, "name": "Bench User"}
        resp = client.post(server.api("/sign-up/email"), json=body, headers=headers)
        if resp.status_code != 200:
            raise _refuse(server, "sign-up", resp.status_code, resp.text)
        user_id = resp.json()["user"]["id"]
        cookies = [
            c.split(";", 1)[0] for c in resp.headers.get_list("set-cookie")
            if c.split("=", 1)[0].endswith("session_token")
        ]
        if not cookies:
            raise BenchError(f"{server.label}: sign-up set no session cookie")
        server.cookie = cookies[0]
        client.cookies.clear()  # send exactly what wrk will send

        resp = client.get(server.api("/get-session"), headers={"Cookie": server.cookie})
        if resp.status_code != 200:
            raise _refuse(server, "get-session", resp.status_code, resp.text)
        data = resp.json()
        session, user = (data or {}).get("session") or {}, (data or {}).get("user") or {}
        if session.get("userId") != user_id or user.get("email") != server.email:
            raise BenchError(f"{server.label}: get-session did not return the user's session: {resp.text[:300]}")
        if server.env.get("AUTHKEEPER_JWT__ENABLED") == "true" and not resp.headers.get("set-auth-jwt"):
            raise BenchError(f"{server.label}: the jwt plugin is on but get-session sent no set-auth-jwt header")
        server.min_bytes["get-session"] = len(resp.content)

        resp = client.post(server.api("/sign-in/email"), content=sign_in_body(server), headers=headers)
        if resp.status_code != 200:
            raise _refuse(server, "sign-in", resp.status_code, resp.text)
        data = resp.json()
        if not data.get("token") or data.get("user", {}).get("id") != user_id:
            raise BenchError(f"{server.label}: sign-in did not return a session for the user: {resp.text[:300]}")
        server.min_bytes["sign-in"] = len(resp.content)


def sign_in_body(server: Server) -> str:
    return json.dumps({"email": server.email, "password": server.password}, separators=(",", ":"))


# --------------------------------------------------------------------------- wrk

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bytes_read: float
    non_2xx: int
    socket_errors: str
    raw: str


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    total = re.search(r"^\s+(\d+) requests in [^,]+, ([\d.]+)([KMGT]?B) read", output, re.M)
    if not (rps and p50 and p99 and total):
        raise BenchError(f"could not read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:\s*(.+)", output)
    return WrkResult(
        rps=float(rps.group(1)), p50_ms=_ms(p50.group(1)), p99_ms=_ms(p99.group(1)),
        requests=int(total.group(1)), bytes_read=float(total.group(2)) * _BYTES[total.group(3)],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=errors.group(1).strip() if errors else "", raw=output,
    )


@dataclass
class Load:
    """One wrk invocation against one endpoint."""

    server: Server
    endpoint: str  # "get-session" or "sign-in"
    connections: int
    seconds: float

    def command(self) -> list[str]:
        cmd = ["wrk", "-t1", f"-c{self.connections}", f"-d{self.seconds:g}s", "--latency", "--timeout", "30s"]
        if self.endpoint == "get-session":
            cmd += ["-H", f"Cookie: {self.server.cookie}", self.server.api("/get-session")]
        else:
            cmd += ["-s", str(SIGN_IN_LUA), self.server.api("/sign-in/email")]
        return cmd

    def env(self) -> dict[str, str]:
        return {**os.environ, "BENCH_EMAIL": self.server.email, "BENCH_PASSWORD": self.server.password,
                "BENCH_ORIGIN": self.server.origin}

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(), env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)

    def finish(self, proc: subprocess.Popen[str], what: str, *, warm_up: bool = False) -> WrkResult:
        output, _ = proc.communicate()
        if proc.returncode != 0:
            raise BenchError(f"wrk failed ({what}, {self.server.label}):\n{output}")
        result = parse_wrk(output)
        if result.non_2xx:
            raise BenchError(
                f"{self.server.label}: {result.non_2xx} of {result.requests} {self.endpoint} responses were not "
                f"2xx during {what}: the benchmark would be meaningless. wrk said:\n{output}"
            )
        expected = self.server.min_bytes[self.endpoint]
        if result.requests and result.bytes_read / result.requests < 0.98 * expected:
            raise BenchError(
                f"{self.server.label}: {self.endpoint} answers averaged {result.bytes_read / result.requests:.0f} bytes "
                f"during {what}, less than the {expected}-byte body of a verified answer: some were not what the "
                f"benchmark expects (e.g. no session). wrk said:\n{output}"
            )
        if result.requests == 0 and not warm_up:
            raise BenchError(f"{self.server.label}: no {self.endpoint} request completed during {what} "
                             f"(is --duration shorter than one request under this load?):\n{output}")
        return result

    def run(self, what: str, *, warm_up: bool = False) -> WrkResult:
        return self.finish(self.start(), what, warm_up=warm_up)


class MemorySampler:
    """Samples a process's VmRSS every 50 ms in a background thread; keeps the maximum."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_kib = max(self.peak_kib, read_status(self.pid)["VmRSS"])
            except (OSError, KeyError):
                return
            self._stop.wait(0.05)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def wait_idle(pid: int, quiet: float = 0.3, timeout: float = 15.0) -> None:
    """Return once ``pid`` has used less than 2 clock ticks of CPU during ``quiet`` seconds
    (or after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = cpu_seconds(pid)
        if now - last < 2 / CLOCK_TICKS:
            return
        last = now


def measured(server: Server, load: Callable[[], WrkResult]) -> tuple[WrkResult, float, float]:
    """Run ``load``; return its result, the server's CPU milliseconds per request, and the
    share of the machine other processes used meanwhile (percent)."""
    assert server.account is not None
    if server.settle:
        wait_idle(server.pid)
    mark = server.account.mark()
    before = cpu_seconds(server.pid)
    result = load()
    used = cpu_seconds(server.pid) - before
    return result, used * 1000 / max(result.requests, 1), server.account.other_share(mark)


# --------------------------------------------------------------------------- scenarios


def bench_get_session(server: Server, args: argparse.Namespace, log: Callable[[str], None]) -> None:
    load = Load(server, "get-session", args.connections, args.warmup)
    if args.warmup > 0:
        log(f"  {server.label}: get-session warm-up {args.warmup:g} s")
        load.run("the get-session warm-up", warm_up=True)
    load.seconds = args.duration
    log(f"  {server.label}: get-session measured {args.duration:g} s")
    result, cpu, other = measured(server, lambda: load.run("the get-session run"))
    server.results.update(gs_other=other, gs_rps=result.rps, gs_p50=result.p50_ms, gs_p99=result.p99_ms, gs_cpu=cpu,
                          gs_errors=result.socket_errors, gs_raw=result.raw)


def bench_sign_in(server: Server, args: argparse.Namespace, log: Callable[[str], None]) -> None:
    load = Load(server, "sign-in", args.connections, args.warmup)
    if args.warmup > 0:
        log(f"  {server.label}: sign-in warm-up {args.warmup:g} s")
        load.run("the sign-in warm-up", warm_up=True)
    load.seconds = args.duration
    log(f"  {server.label}: sign-in measured {args.duration:g} s")
    with MemorySampler(server.pid) as sampler:
        result, cpu, other = measured(server, lambda: load.run("the sign-in run"))
    server.results.update(si_other=other, si_rps=result.rps, si_p50=result.p50_ms, si_p99=result.p99_ms, si_cpu=cpu,
                          si_errors=result.socket_errors, si_raw=result.raw, rss_peak=sampler.peak_kib)


def bench_mixed(server: Server, args: argparse.Namespace, log: Callable[[str], None]) -> None:
    """get-session measured while another wrk signs in flat out. The sign-in load starts
    ``warmup`` seconds before the measurement and ends after it."""
    sign_in = Load(server, "sign-in", args.mixed_sign_in_connections, args.warmup + args.duration + 2)
    get_session = Load(server, "get-session", args.connections, args.duration)
    log(f"  {server.label}: sign-in x{sign_in.connections} flat out, get-session x{get_session.connections} "
        f"measured {args.duration:g} s after {args.warmup:g} s")
    background = sign_in.start()
    try:
        time.sleep(args.warmup)
        with MemorySampler(server.pid) as sampler:
            result, _, other = measured(server, lambda: get_session.run("get-session under sign-in load"))
        signed = sign_in.finish(background, "the concurrent sign-in load")
    finally:
        if background.poll() is None:
            background.kill()
            background.wait()
    server.results.update(mx_other=other, mx_rps=result.rps, mx_p50=result.p50_ms, mx_p99=result.p99_ms, mx_si_rps=signed.rps,
                          mx_errors=result.socket_errors, mx_raw=result.raw + "\n" + signed.raw,
                          rss_peak_mixed=sampler.peak_kib)


# --------------------------------------------------------------------------- ceilings


def argon2_ceiling(seconds: float) -> dict[str, Any]:
    """authkeeper's argon2id verifications per second (bench/hash_ceiling.py, in its own process)."""
    cmd = [sys.executable, str(BENCH / "hash_ceiling.py"), "--seconds", str(seconds)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise BenchError(f"hash_ceiling.py failed:\n{out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def scrypt_ceiling(seconds: float) -> float:
    """Verifications per second with Better Auth's own password code (node:crypto scrypt)."""
    out = subprocess.run(["node", "hash-ceiling.mjs", str(seconds), "8"], cwd=REFERENCE,
                         capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise BenchError(f"hash-ceiling.mjs failed:\n{out.stderr}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["per_second"])


# --------------------------------------------------------------------------- databases


async def _databases(admin_url: str, create: bool, names: Iterable[str] = DATABASES.values()) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if create:
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


# --------------------------------------------------------------------------- report


def _cmd_output(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def environment() -> dict[str, str]:
    wrk_version = _cmd_output(["wrk", "-v"]).splitlines()
    return {
        "nproc": _cmd_output(["nproc"]),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "node": _cmd_output(["node", "--version"]),
        "wrk": wrk_version[0] if wrk_version else "?",
        "kernel": platform.release(),
    }


# (key, label, unit, digits, better: "higher"/"lower"/None)
ROWS: list[tuple[str, str, str, int, str | None]] = [
    ("gs_rps", "get-session: requests/s", "req/s", 0, "higher"),
    ("gs_p50", "get-session: p50 latency", "ms", 2, "lower"),
    ("gs_p99", "get-session: p99 latency", "ms", 2, "lower"),
    ("gs_cpu", "get-session: server CPU per request", "ms", 3, "lower"),
    ("si_rps", "sign-in: requests/s", "req/s", 1, "higher"),
    ("si_p50", "sign-in: p50 latency", "ms", 1, "lower"),
    ("si_p99", "sign-in: p99 latency", "ms", 1, "lower"),
    ("si_cpu", "sign-in: server CPU per request", "ms", 2, "lower"),
    ("mx_p99", "get-session p99 during sign-in flood", "ms", 2, "lower"),
    ("mx_p50", "get-session p50 during sign-in flood", "ms", 2, "lower"),
    ("mx_rps", "get-session requests/s during sign-in flood", "req/s", 0, "higher"),
    ("mx_si_rps", "sign-in requests/s during that flood", "req/s", 1, "higher"),
    ("rss_idle", "RSS idle after start", "MiB", 1, "lower"),
    ("rss_peak", "RSS peak under sign-in load (VmRSS sampled)", "MiB", 1, "lower"),
    ("rss_hwm", "RSS high-water mark at the end (VmHWM)", "MiB", 1, "lower"),
    ("hash_ceiling", "password verifications/s, no HTTP (sign-in ceiling)", "/s", 1, None),
    ("gs_other", "other processes' CPU during the get-session run", "% of machine", 0, None),
    ("si_other", "other processes' CPU during the sign-in run", "% of machine", 0, None),
    ("mx_other", "other processes' CPU during the flood run", "% of machine", 0, None),
]


def table_rows(ak: Server, ba: Server) -> list[list[str]]:
    rows = []
    for key, label, unit, digits, better in ROWS:
        a, b = ak.results.get(key), ba.results.get(key)
        if a is None or b is None:
            continue
        ratio = f"{a / b:.2f}x" if b and not key.endswith("_other") else "-"
        direction = {"higher": "higher is better", "lower": "lower is better", None: "information"}[better]
        rows.append([f"{label} ({unit})", f"{a:.{digits}f}", f"{b:.{digits}f}", ratio, direction])
    return rows


HEADER = ["metric", "authkeeper", "Better Auth 1.7.25", "ratio ak/BA", "direction"]


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = []
    for n, row in enumerate([HEADER, *rows]):
        cells = [c.ljust(w) if i in (0, 4) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append(" | ".join(cells))
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|---|--:|--:|--:|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def conditions(args: argparse.Namespace, env: dict[str, str], load_before: str, load_after: str,
               ak: Server, ba: Server, started: dt.datetime) -> list[str]:
    return [
        f"date: {started.isoformat(timespec='seconds')}",
        f"command: {args.command_line}",
        f"wrk: 1 thread, {args.connections} connections, warm-up {args.warmup:g} s, measured {args.duration:g} s "
        f"(sign-in flood: {args.mixed_sign_in_connections} connections); {env['wrk']}",
        f"load average before: {load_before}",
        f"load average after:  {load_after} (includes the benchmark itself)",
        f"machine: nproc={env['nproc']}, CPU {env['cpu']}, Linux {env['kernel']}",
        f"versions: Python {env['python']}, Node {env['node']}",
        f"authkeeper: python {shlex.join(ak.cmd[1:])} (server pid {ak.pid}), argon2id m=19456 KiB t=2 p=1, "
        f"{ak.results.get('hash_workers', '?')} hash threads",
        f"Better Auth: node bench/reference/server.mjs {ba.port} (server pid {ba.pid}), scrypt N=16384 r=16 p=1, libuv pool "
        f"{os.environ.get('UV_THREADPOOL_SIZE', '4')} threads",
        f"argon2id ceiling: {ak.results['hash_ceiling']:.1f}/s ({ak.results['hash_cpu']:.1f} ms CPU per "
        f"verification, {ak.results['hash_sys']:.1f} ms of it in the kernel)",
        f"socket errors: authkeeper [{socket_errors(ak)}], Better Auth [{socket_errors(ba)}]",
    ]


SCENARIOS = {"gs": "get-session", "si": "sign-in", "mx": "get-session during the sign-in flood (then the flood)"}


def socket_errors(server: Server) -> str:
    found = [f"{SCENARIOS[k[:2]]}: {v}" for k, v in server.results.items() if k.endswith("_errors") and v]
    return "; ".join(found) or "none"


def load_average() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


# --------------------------------------------------------------------------- baseline comparison
#
# --baseline REV: authkeeper at an earlier revision next to the working tree (or --current REV),
# each in its own virtualenv, its own fresh database and its own port, measured in alternating
# runs (B, C, B, C, ...) so that drift on a shared machine hits both sides alike.

TARGET = 0.05  # the largest CPU-per-request increase a refactor may cost (current / baseline - 1)


def git(*cmd: str) -> str:
    """A read-only git command in the repository; its stdout, without trailing white space."""
    try:
        out = subprocess.run(["git", "--no-optional-locks", "-C", str(REPO), *cmd], check=False, capture_output=True,
                             text=True, timeout=60)
    except OSError as exc:
        raise BenchError(f"git could not run: {exc}") from None
    if out.returncode != 0:
        raise BenchError(f"git {shlex.join(cmd)} failed: {out.stderr.strip()}")
    return out.stdout.rstrip()


@dataclass
class Side:
    """One of the two authkeepers compared: an archived revision or the working tree."""

    key: str  # "baseline" or "current"
    rev: str  # what the caller named ("HEAD~3"), or "working tree"
    sha: str  # the commit (for the working tree: HEAD)
    subject: str
    python: Path  # the interpreter that runs ``python -m authkeeper serve``
    archived: bool
    dirty: list[str] = field(default_factory=list)  # working tree: files changed since HEAD
    runs: list[Server] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # --baseline-env / --current-env: this side's own settings

    def describe(self) -> str:
        if self.archived:
            return f"{self.rev} = {self.sha} ({self.title()}), archived, venv {os.path.relpath(self.python.parent.parent)}"
        changes = (f"{len(self.dirty)} uncommitted change(s): {', '.join(self.dirty[:8])}"
                   f"{' ...' if len(self.dirty) > 8 else ''}") if self.dirty else "no uncommitted change"
        return (f"working tree at HEAD {self.sha} ({self.title()}), {changes}; "
                f"venv {os.path.relpath(self.python.parent.parent)}")

    def title(self) -> str:
        return self.subject if len(self.subject) <= 72 else self.subject[:69] + "..."

    def short(self) -> str:
        return self.sha[:10] + ("" if self.archived else "+tree")


def resolve(rev: str) -> tuple[str, str]:
    """The full commit sha and subject of ``rev``."""
    try:
        sha = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}") if rev else ""
    except BenchError:
        sha = ""
    if not re.fullmatch(r"[0-9a-f]{40}", sha):
        raise BenchError(f"{rev!r} is not a git revision of {REPO}")
    return sha, git("log", "-1", "--format=%s", sha)


def _installed_from(python: Path) -> str:
    """Where ``python`` imports authkeeper from (its package directory)."""
    out = subprocess.run([str(python), "-c", "import authkeeper, os; print(os.path.dirname(authkeeper.__file__))"],
                         check=False, capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir(),
                         env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")})
    if out.returncode != 0:
        raise BenchError(f"{python} cannot import authkeeper:\n{out.stderr.strip()[-2000:]}")
    return out.stdout.strip()


def revision_venv(sha: str) -> Path:
    """The python of a virtualenv with authkeeper at ``sha`` installed (not editable), in
    bench/.cache/baseline-<sha>/; made once (git archive | tar -x, then pip install), reused after."""
    venv = CACHE / f"baseline-{sha}"
    python = venv / "bin" / "python"
    marker = venv / ".bench-installed"
    if marker.is_file() and python.exists():
        log(f"bench: reusing {os.path.relpath(venv)}")
    else:
        if venv.exists():
            log(f"bench: {os.path.relpath(venv)} is incomplete (an earlier install failed or was interrupted): remaking it")
            shutil.rmtree(venv)
        CACHE.mkdir(parents=True, exist_ok=True)
        source = Path(tempfile.mkdtemp(prefix=f"authkeeper-{sha[:10]}-"))
        install_log = CACHE / f"baseline-{sha}.install.log"
        try:
            log(f"bench: exporting {sha[:10]} with git archive into {source}")
            archive = subprocess.Popen(["git", "-C", str(REPO), "archive", "--format=tar", sha],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            assert archive.stdout is not None
            untar = subprocess.run(["tar", "-x", "-C", str(source)], check=False, stdin=archive.stdout,
                                   capture_output=True)
            archive.stdout.close()
            archive_err = archive.stderr.read().decode(errors="replace") if archive.stderr else ""
            if archive.wait() != 0 or untar.returncode != 0:
                raise BenchError(f"git archive {sha} | tar -x failed: {archive_err.strip()} "
                                 f"{untar.stderr.decode(errors='replace').strip()}")
            log(f"bench: creating {os.path.relpath(venv)} and installing {sha[:10]} into it "
                f"(pip install, not editable; log: {os.path.relpath(install_log)})")
            with open(install_log, "wb") as out:
                for cmd in ([sys.executable, "-m", "venv", str(venv)],
                            [str(python), "-m", "pip", "install", "--disable-pip-version-check", str(source)]):
                    out.write(f"$ {shlex.join(cmd)}\n".encode())
                    out.flush()
                    done = subprocess.run(cmd, check=False, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          cwd=tempfile.gettempdir(),
                                          env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")})
                    if done.returncode != 0:
                        tail = "\n".join(install_log.read_text(errors="replace").splitlines()[-25:])
                        raise BenchError(f"installing {sha[:10]} failed ({shlex.join(cmd)}):\n{tail}")
        finally:
            shutil.rmtree(source, ignore_errors=True)
        marker.write_text(sha + "\n")
    where = _installed_from(python)
    if not Path(where).resolve().is_relative_to(venv.resolve()):
        raise BenchError(f"{python} imports authkeeper from {where}, not from its own venv {venv}")
    return python


def working_tree_side() -> Side:
    python = REPO / ".venv" / "bin" / "python"
    if not python.exists():
        raise BenchError(f"{python} is missing: the working tree runs from the project's virtualenv (.venv)")
    sha, subject = resolve("HEAD")
    dirty = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no", "--", "src", "pyproject.toml")
             .splitlines() if line.strip()]
    return Side("current", "working tree", sha, subject, python, archived=False, dirty=dirty)


def archived_side(key: str, rev: str) -> Side:
    sha, subject = resolve(rev)
    return Side(key, rev, sha, subject, revision_venv(sha), archived=True)


_UNKNOWN_SETTING = re.compile(r"[^\n]*unknown (setting|section)[^\n]*")


def start_side(side: Side, server: Server) -> None:
    """Start ``server``; say plainly when it failed because its revision does not know one of
    the settings both sides are given, or (working tree) because the tree is mid-edit."""
    try:
        server.start()
    except BenchError as exc:
        unknown = _UNKNOWN_SETTING.search(server.log_tail(200))
        if unknown:
            raise BenchError(
                f"the {side.key} ({side.short()}) does not accept a setting that the benchmark passes to both servers: "
                f"{unknown.group(0).strip()}\nBoth sides must run with the same settings ({', '.join(sorted(COMPARE_ENV))}); "
                f"pick a revision that knows them, or change COMPARE_ENV in bench/run.py for this comparison."
            ) from None
        if not side.archived:
            raise BenchError(f"{exc}\n(The working tree may be in the middle of an edit: retry later, or measure a "
                             f"committed revision with --current REV.)") from None
        raise


def compare_run(side: Side, run: int, args: argparse.Namespace, account: CpuAccount, workdir: Path) -> Server:
    """One run of one side: a fresh database and server, then get-session and sign-in."""
    pg = args.pg.rstrip("/")
    admin = f"{pg}/{args.pg_admin_db}"
    database = COMPARE_DATABASES[side.key]
    port = free_port()
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("AUTHKEEPER_") and k not in ("NODE_ENV", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    server = Server(
        key=side.key, label=f"{side.key} {side.short()} run {run}", port=port,
        cmd=[str(side.python), "-m", "authkeeper", "serve", "--port", str(port), "--log-level", "warning"],
        env={**clean, "DATABASE_URL": f"{pg}/{database}", **COMPARE_ENV, **side.env},
        cwd=workdir, log=workdir / f"{side.key}-run{run}.log", account=account, settle=True,
    )
    asyncio.run(_databases(admin, create=True, names=[database]))
    try:
        log(f"bench: run {run}, {side.key} ({side.short()}): starting on {server.origin} with database {database}")
        start_side(side, server)
        time.sleep(2)
        server.results["rss_idle"] = read_status(server.pid)["VmRSS"] / 1024
        prepare_user(server)
        for title, scenario in (("get-session", bench_get_session), ("sign-in", bench_sign_in)):
            scenario(server, args, log)
            if not server.alive():
                raise BenchError(f"{server.label} died during {title}:\n{server.log_tail()}")
        server.results["rss_hwm"] = read_status(server.pid)["VmHWM"] / 1024
        server.results["rss_peak"] = server.results["rss_peak"] / 1024
    finally:
        server.stop()
        asyncio.run(_databases(admin, create=False, names=[database]))
    return server


# (key, label, unit, digits, better: "higher"/"lower"/None)
COMPARE_ROWS: list[tuple[str, str, str, int, str | None]] = [
    ("gs_cpu", "get-session: server CPU per request", "ms", 3, "lower"),
    ("si_cpu", "sign-in: server CPU per request", "ms", 2, "lower"),
    ("gs_rps", "get-session: requests/s", "req/s", 0, "higher"),
    ("gs_p50", "get-session: p50 latency", "ms", 2, "lower"),
    ("gs_p99", "get-session: p99 latency", "ms", 2, "lower"),
    ("si_rps", "sign-in: requests/s", "req/s", 1, "higher"),
    ("si_p50", "sign-in: p50 latency", "ms", 1, "lower"),
    ("si_p99", "sign-in: p99 latency", "ms", 1, "lower"),
    ("rss_idle", "RSS idle after start", "MiB", 1, "lower"),
    ("rss_peak", "RSS peak under sign-in load (VmRSS sampled)", "MiB", 1, "lower"),
    ("rss_hwm", "RSS high-water mark at the end (VmHWM)", "MiB", 1, "lower"),
    ("gs_other", "other processes' CPU during get-session", "% of machine", 0, None),
    ("si_other", "other processes' CPU during sign-in", "% of machine", 0, None),
]
TARGET_ROWS = ("gs_cpu", "si_cpu")


def _median(side: Side, key: str) -> float:
    return float(statistics.median(s.results[key] for s in side.runs))


def compare_table(base: Side, cur: Side) -> tuple[list[str], list[list[str]]]:
    header = ["metric"]
    for n in range(len(base.runs)):
        header += [f"B{n + 1}", f"C{n + 1}"]
    header += ["median B", "median C", "ratio C/B", "direction"]
    rows = []
    for key, label, unit, digits, better in COMPARE_ROWS:
        row = [f"{label} ({unit})"]
        for b, c in zip(base.runs, cur.runs, strict=True):
            row += [f"{b.results[key]:.{digits}f}", f"{c.results[key]:.{digits}f}"]
        mb, mc = _median(base, key), _median(cur, key)
        ratio = f"{mc / mb:.3f}" if mb and better else "-"
        direction = {"higher": "higher is better", "lower": "lower is better", None: "information"}[better]
        rows.append([*row, f"{mb:.{digits}f}", f"{mc:.{digits}f}", ratio, direction])
    return header, rows


def verdicts(base: Side, cur: Side) -> list[str]:
    """For each CPU-per-request figure: the ratio of the medians, the per-run pairs, the
    spread of each side's runs, and whether the ratio is within the target."""
    lines = []
    for key in TARGET_ROWS:
        label = next(r[1] for r in COMPARE_ROWS if r[0] == key)
        mb, mc = _median(base, key), _median(cur, key)
        ratio = mc / mb
        pairs = " ".join(f"{c.results[key] / b.results[key]:.3f}" for b, c in zip(base.runs, cur.runs, strict=True))
        spread = []
        for side in (base, cur):
            values = [s.results[key] for s in side.runs]
            spread.append(f"{100 * (max(values) - min(values)) / statistics.median(values):.1f}%")
        if ratio <= 1 + TARGET:
            verdict = f"WITHIN the {100 * TARGET:.0f}% target"
            if ratio < 1 - TARGET:
                verdict += f" ({100 * (1 - ratio):.0f}% less CPU than the baseline)"
        else:
            verdict = f"OVER the {100 * TARGET:.0f}% target ({100 * (ratio - 1):.1f}% more CPU than the baseline)"
        noisy = max(float(x.rstrip("%")) for x in spread) > 100 * TARGET
        lines.append(
            f"{label}: current/baseline = {ratio:.3f} (medians {mc:.3f} / {mb:.3f} ms; per run pair {pairs}; "
            f"spread of the runs: baseline {spread[0]}, current {spread[1]}): {verdict}"
            + (" - the runs spread more than the target, so repeat with more --runs or on a quieter machine "
               "before trusting this" if noisy else "")
        )
    return lines


def generic_text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    left = {0, len(header) - 1}
    lines = []
    for n, row in enumerate([header, *rows]):
        cells = [c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append(" | ".join(cells))
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def generic_markdown_table(header: list[str], rows: list[list[str]]) -> str:
    align = ["---", *["--:"] * (len(header) - 2), "---"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def compare_notes(args: argparse.Namespace, base: Side, cur: Side, load_before: str, load_after: str,
                  other_load: str, started: dt.datetime) -> list[str]:
    env = environment()
    errors = [f"{s.label} {SCENARIOS[k[:2]]}: {v}" for side in (base, cur) for s in side.runs
              for k, v in s.results.items() if k.endswith("_errors") and v]
    notes = [
        f"date: {started.isoformat(timespec='seconds')}",
        f"command: {args.command_line}",
        f"baseline (B): {base.describe()}",
        f"current (C): {cur.describe()}",
        (f"order: {', '.join(f'B{n} C{n}' for n in range(1, args.runs + 1))} (alternating; each run a fresh server "
         f"and a fresh database; each measured wrk run starts once the server is idle)"),
        (f"wrk: 1 thread, {args.connections} connections, warm-up {args.warmup:g} s, measured {args.duration:g} s "
         f"per scenario and run; {env['wrk']}"),
        f"load average before: {load_before}",
        f"load average after:  {load_after} (includes the benchmark itself)",
        f"other load: {other_load}",
        f"machine: nproc={env['nproc']}, CPU {env['cpu']}, Linux {env['kernel']}; Python {env['python']}",
        "settings (both sides): " + ", ".join(f"{k}={v}" for k, v in COMPARE_ENV.items() if k != "AUTHKEEPER_SECRET")
        + ", AUTHKEEPER_SECRET=<fixed>; hash threads: the default (one per core)",
        *(f"settings of the {side.key} only: " + ", ".join(f"{k}={v}" for k, v in side.env.items())
          for side in (base, cur) if side.env),
        (f"socket errors: {'; '.join(errors) or 'none'}; no non-2xx answer, and every answer at least the size of "
         f"the verified one"),
    ]
    if args.runs < 3:
        notes.append(f"only {args.runs} run(s) of each side: the medians are not robust; use --runs 3 or more")
    return notes


def compare_preflight(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed. Install it (Debian/Ubuntu: apt-get install -y wrk; "
                         "macOS: brew install wrk) and run again.")
    if shutil.which("git") is None:
        raise BenchError("git is not installed (the baseline is exported with git archive).")
    for mod in ("asyncpg", "httpx"):
        try:
            __import__(mod)
        except ImportError:
            raise BenchError(f"Python module {mod!r} is missing: run this with the project's virtualenv "
                             "(.venv/bin/python bench/run.py)") from None


def side_env(pairs: list[str]) -> dict[str, str]:
    """``--current-env KEY=VALUE`` (repeatable): settings of one side only."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.startswith("AUTHKEEPER_"):
            raise BenchError(f"--baseline-env/--current-env take AUTHKEEPER_NAME=VALUE, not {pair!r}")
        found[key] = value
    return found


def compare_main(args: argparse.Namespace) -> int:
    try:
        compare_preflight(args)
        base = archived_side("baseline", args.baseline)
        cur = archived_side("current", args.current) if args.current else working_tree_side()
        base.env, cur.env = side_env(args.baseline_env), side_env(args.current_env)
    except BenchError as exc:
        log(f"bench: {exc}")
        return 2

    started = dt.datetime.now().astimezone()
    workdir = Path(tempfile.mkdtemp(prefix="authkeeper-bench-baseline-"))
    load_before = load_average()
    log(f"bench: load average {load_before}; baseline {base.short()}, current {cur.short()}; "
        f"{args.runs} alternating runs of each")
    status = 0
    other_load = ""
    try:
        account = CpuAccount()
        for run in range(1, args.runs + 1):
            for side in (base, cur):
                side.runs.append(compare_run(side, run, args, account, workdir))
        other_load = account.summary()
    except BenchError as exc:
        log(f"bench: {exc}")
        status = 1
    except KeyboardInterrupt:
        log("bench: interrupted")
        status = 130
    finally:
        try:
            asyncio.run(_databases(f"{args.pg.rstrip('/')}/{args.pg_admin_db}", create=False,
                                   names=COMPARE_DATABASES.values()))
        except Exception as exc:  # noqa: BLE001 - report, never hide the run's own outcome
            log(f"bench: could not drop the benchmark databases: {exc}")
    load_after = load_average()
    if status:
        log(f"bench: server logs are in {workdir}")
        return status

    header, rows = compare_table(base, cur)
    judged = verdicts(base, cur)
    notes = compare_notes(args, base, cur, load_before, load_after, other_load, started)
    if args.markdown:
        print(generic_markdown_table(header, rows))
        print()
        print("\n".join(f"- {v}" for v in judged))
        print()
        print("\n".join(f"- {n}" for n in notes))
    else:
        print(generic_text_table(header, rows))
        print()
        print("\n".join(judged))
        print()
        print("\n".join(notes))
    if not args.no_write:
        path = args.output or BENCH / "results" / f"baseline-{started.strftime('%Y%m%d-%H%M%S')}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = [
            f"### {s.label}: {SCENARIOS[k[:2]]}\n\n```\n{v.strip()}\n```"
            for n in range(args.runs) for s in (base.runs[n], cur.runs[n])
            for k, v in s.results.items() if k.endswith("_raw")
        ]
        path.write_text("\n\n".join([
            f"# authkeeper {base.short()} (baseline) vs {cur.short()} (current): {started.strftime('%Y-%m-%d %H:%M %Z')}",
            generic_markdown_table(header, rows),
            "\n".join(f"- {v}" for v in judged),
            "\n".join(f"- {n}" for n in notes),
            "## Raw wrk output",
            *raw,
        ]) + "\n")
        log(f"bench: report written to {path}")
    if args.keep_logs:
        log(f"bench: server logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0



# --------------------------------------------------------------------------- main


def preflight(args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed. Install it (Debian/Ubuntu: apt-get install -y wrk; "
                         "macOS: brew install wrk) and run again.")
    if shutil.which("node") is None:
        raise BenchError("node is not installed (Node 20 or newer is needed for the Better Auth server).")
    if not (REFERENCE / "node_modules" / "better-auth").is_dir():
        raise BenchError("Better Auth is not installed: run `cd bench/reference && npm ci` first.")
    for mod in ("asyncpg", "httpx", "authkeeper"):
        try:
            __import__(mod)
        except ImportError:
            raise BenchError(f"Python module {mod!r} is missing: run this with the project's virtualenv "
                             "(.venv/bin/python bench/run.py)") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark authkeeper next to Better Auth 1.7.25, or (--baseline REV) "
                                            "the working tree next to an earlier revision (see bench/README.md).")
    p.add_argument("--baseline", metavar="REV",
                   help="compare authkeeper at git revision REV (archived, in its own venv under bench/.cache/) with "
                        "the working tree, instead of authkeeper with Better Auth")
    p.add_argument("--current", metavar="REV",
                   help="with --baseline: measure revision REV (archived like the baseline) instead of the working tree")
    p.add_argument("--baseline-env", action="append", default=[], metavar="AUTHKEEPER_X=V",
                   help="--baseline mode: a setting of the baseline side only (repeatable)")
    p.add_argument("--current-env", action="append", default=[], metavar="AUTHKEEPER_X=V",
                   help="--baseline mode: a setting of the current side only (repeatable), e.g. "
                        "AUTHKEEPER_JWT__ENABLED=true to measure what the jwt plugin's set-auth-jwt costs")
    p.add_argument("--runs", type=int, default=3,
                   help="with --baseline: runs of each side, alternating baseline and current (default 3)")
    p.add_argument("--duration", type=float,
                   help="seconds of each measured wrk run (default 15; 10 with --baseline)")
    p.add_argument("--warmup", type=float,
                   help="seconds of the warm-up run before each measurement (default 5; 3 with --baseline)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--mixed-sign-in-connections", type=int, default=16,
                   help="connections of the sign-in flood during the mixed run (default 16)")
    p.add_argument("--ceiling-seconds", type=float, default=5, help="seconds of each password-hash ceiling measurement (default 5)")
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432",
                   help="PostgreSQL server (no database part; default postgresql://postgres@127.0.0.1:5432)")
    p.add_argument("--pg-admin-db", default="postgres", help="database to connect to for CREATE/DROP DATABASE (default postgres)")
    p.add_argument("--markdown", action="store_true", help="print the report as Markdown instead of a text table")
    p.add_argument("--output", type=Path, help="Markdown report file (default bench/results/results-<date>.md; "
                                               "baseline-<date>.md with --baseline)")
    p.add_argument("--no-write", action="store_true", help="do not write the Markdown report file")
    p.add_argument("--keep-logs", action="store_true", help="keep the servers' logs (their directory is printed)")
    args = p.parse_args(argv)
    if args.current and not args.baseline:
        p.error("--current needs --baseline")
    if args.runs < 1:
        p.error("--runs must be at least 1")
    if args.duration is None:
        args.duration = 10 if args.baseline else 15
    if args.warmup is None:
        args.warmup = 3 if args.baseline else 5
    if args.duration <= 0 or args.warmup < 0 or args.connections < 1 or args.mixed_sign_in_connections < 1:
        p.error("durations must be positive and connection counts at least 1")
    script = sys.argv[0] if argv is None else os.path.relpath(__file__)
    args.command_line = shlex.join([os.path.relpath(sys.executable), script, *(sys.argv[1:] if argv is None else argv)])
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.baseline:
        return compare_main(args)

    try:
        preflight(args)
    except BenchError as exc:
        log(f"bench: {exc}")
        return 2

    started = dt.datetime.now().astimezone()
    env = environment()
    workdir = Path(tempfile.mkdtemp(prefix="authkeeper-bench-"))
    pg = args.pg.rstrip("/")
    ak_port, ba_port = free_port(), free_port()
    # Settings from the caller's environment must not change what is measured.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AUTHKEEPER_") and k != "NODE_ENV"}
    ak = Server(
        key="authkeeper", label="authkeeper", port=ak_port,
        cmd=[sys.executable, "-m", "authkeeper", "serve", "--port", str(ak_port), "--log-level", "warning"],
        env={**clean, "DATABASE_URL": f"{pg}/{DATABASES['authkeeper']}", **AUTHKEEPER_ENV},
        cwd=workdir, log=workdir / "authkeeper.log",
    )
    ba = Server(
        key="betterauth", label="Better Auth", port=ba_port,
        cmd=["node", str(REFERENCE / "server.mjs"), str(ba_port)],
        env={**clean, "DATABASE_URL": f"{pg}/{DATABASES['betterauth']}"},
        cwd=REFERENCE, log=workdir / "betterauth.log",
    )
    servers = [ak, ba]
    load_before = load_average()
    status = 0
    try:
        log(f"bench: load average {load_before}; measuring the password-hash ceilings ({args.ceiling_seconds:g} s each)")
        served = argon2_ceiling(args.ceiling_seconds)
        ak.results.update(hash_ceiling=served["per_second"], hash_workers=served["workers"],
                          hash_cpu=served["cpu_ms_per_verification"], hash_sys=served["sys_ms_per_verification"])
        ba.results["hash_ceiling"] = scrypt_ceiling(args.ceiling_seconds)

        log("bench: creating databases " + ", ".join(DATABASES.values()))
        asyncio.run(_databases(f"{pg}/{args.pg_admin_db}", create=True))
        for server in servers:
            log(f"bench: starting {server.label} on {server.origin}")
            server.start()
        time.sleep(2)
        account = CpuAccount()
        ak.account = ba.account = account
        for server in servers:
            server.results["rss_idle"] = read_status(server.pid)["VmRSS"] / 1024
            prepare_user(server)
            log(f"bench: {server.label} (pid {server.pid}) answers sign-up, get-session and sign-in correctly")

        for title, scenario in (("get-session", bench_get_session), ("sign-in", bench_sign_in),
                                ("get-session during a sign-in flood", bench_mixed)):
            log(f"bench: {title}")
            for server in servers:
                scenario(server, args, log)
                if not server.alive():
                    raise BenchError(f"{server.label} died during {title}:\n{server.log_tail()}")
        for server in servers:
            status_kib = read_status(server.pid)
            server.results["rss_hwm"] = status_kib["VmHWM"] / 1024
            server.results["rss_peak"] = max(server.results["rss_peak"], server.results["rss_peak_mixed"]) / 1024
        other_load = account.summary()
    except BenchError as exc:
        log(f"bench: {exc}")
        status = 1
    except KeyboardInterrupt:
        log("bench: interrupted")
        status = 130
    finally:
        for server in servers:
            server.stop()
        try:
            asyncio.run(_databases(f"{pg}/{args.pg_admin_db}", create=False))
        except Exception as exc:  # noqa: BLE001 - report, never hide the run's own outcome
            log(f"bench: could not drop the benchmark databases: {exc}")
    load_after = load_average()
    if status:
        log(f"bench: server logs are in {workdir}")
        return status

    rows = table_rows(ak, ba)
    notes = conditions(args, env, load_before, load_after, ak, ba, started)
    notes.insert(5, f"other load: {other_load}")
    if args.markdown:
        print(markdown_table(rows))
        print()
        print("\n".join(f"- {n}" for n in notes))
    else:
        print(text_table(rows))
        print()
        print("\n".join(notes))
    if not args.no_write:
        path = args.output or BENCH / "results" / f"results-{started.strftime('%Y%m%d-%H%M%S')}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = [
            f"### {s.label}: {SCENARIOS[k[:2]]}\n\n```\n{v.strip()}\n```"
            for s in servers for k, v in s.results.items() if k.endswith("_raw")
        ]
        path.write_text("\n\n".join([
            f"# authkeeper vs Better Auth 1.7.25: {started.strftime('%Y-%m-%d %H:%M %Z')}",
            markdown_table(rows),
            "\n".join(f"- {n}" for n in notes),
            "## Raw wrk output",
            *raw,
        ]) + "\n")
        log(f"bench: report written to {path}")
    if args.keep_logs:
        log(f"bench: server logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
