"""The cost of the new-password check (``authkeeper.core.passwords``): loading the breached-password
corpus once, the memory it keeps, and the time of one ``check_new_password`` call.

    .venv/bin/python bench/passwords.py [--rounds 2000] [--compare]

Prints one JSON line: the load averages before and after, the first (cold) load of the corpus,
the fastest of 5 more loads, the RSS the loaded corpus adds, and per-check times (mean over a
mix of refused and accepted passwords, and the slowest single kind, a 128-character password).
``--compare`` also measures, in a child process, a ``frozenset`` of the same entries (the
simple alternative), for scale.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import secrets
import string
import subprocess
import sys
import time
from importlib import resources

from authkeeper.core import errors, passwords
from authkeeper.core.settings import PasswordSettings

SAMPLES = [
    "password123", "Dragon1234567890", "iloveyou2024!", "123456789012345", "qwertyuiop12345",
    "ann.smith2024", "authkeeper2024!", "a fine passphrase", "correct horse battery staple",
    "Marmalade-3f9a1c07d2e4-Lighthouse", "my dog loves the password game", "83!72#19@04$55",
]


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def per_check_us(settings: PasswordSettings, batch: list[str], rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        for password in batch:
            try:
                passwords.check_new_password(settings, password, email="ann.smith@example.com",
                                             context=("Ann Smith", "authkeeper"))
            except errors.AuthError:
                pass
    return (time.perf_counter() - started) / (rounds * len(batch)) * 1e6


def frozenset_cost() -> dict[str, float]:
    before = rss_kib()
    started = time.perf_counter()
    text = gzip.decompress(resources.files("authkeeper").joinpath(passwords.CORPUS).read_bytes()).decode()
    entries = frozenset(text.split("\n"))
    del text
    seconds = time.perf_counter() - started
    return {"frozenset_load_ms": round(seconds * 1e3, 1), "frozenset_rss_mib": round((rss_kib() - before) / 1024, 1),
            "entries": len(entries) - 1}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--frozenset-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.frozenset_child:
        print(json.dumps(frozenset_cost()))
        return
    result: dict[str, object] = {"cpus": os.cpu_count(), "loadavg_before": loadavg()}
    before = rss_kib()
    started = time.perf_counter()
    blob = passwords.breached_passwords()
    result["first_load_ms"] = round((time.perf_counter() - started) * 1e3, 1)
    result["rss_increase_mib"] = round((rss_kib() - before) / 1024, 1)
    result["blob_mib"] = round(len(blob) / 2**20, 2)
    result["entries"] = blob.count(b"\n") - 1
    loads = []
    for _ in range(5):
        started = time.perf_counter()
        passwords.breached_passwords.__wrapped__()
        loads.append(time.perf_counter() - started)
    result["reload_min_ms"] = round(min(loads) * 1e3, 1)
    settings = PasswordSettings()
    result["check_mean_us"] = round(per_check_us(settings, SAMPLES, args.rounds), 1)
    alphabet = string.ascii_letters + string.digits + string.punctuation
    long_random = "".join(secrets.choice(alphabet) for _ in range(settings.max_length))
    long_shape = "x" + "1234567890" * 12 + "!!!!!!!"  # one letter, then the longest weak affix
    result["check_128_random_us"] = round(per_check_us(settings, [long_random], args.rounds), 1)
    result["check_128_shape_us"] = round(per_check_us(settings, [long_shape[:settings.max_length]], args.rounds), 1)
    result["lookup_us"] = round(min(
        timed(lambda: passwords.is_listed("dragon1234567890")) for _ in range(5)) * 1e6, 2)
    if args.compare:
        child = subprocess.run([sys.executable, __file__, "--frozenset-child"], capture_output=True, text=True, check=True)
        result.update(json.loads(child.stdout))
    result["loadavg_after"] = loadavg()
    print(json.dumps(result))


def timed(call: object, times: int = 10_000) -> float:
    assert callable(call)
    started = time.perf_counter()
    for _ in range(times):
        call()
    return (time.perf_counter() - started) / times


if __name__ == "__main__":
    main()
