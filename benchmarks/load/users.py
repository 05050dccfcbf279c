"""Simulated reporters and leaders: bounded loops over one keep-alive connection each."""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field

from benchmarks.load.setup import LEADER_PASSWORD, Stage

LOCKED = "database is locked"
FIELDS = ("registered", "deferred", "bags_250", "bags_350", "bags_450")


@dataclass
class Ack:
    """A write the server said it made."""

    unit: str
    version: int
    values: tuple[int, int, int, int, int]


@dataclass
class Log:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    conflicts: int = 0
    acks: list[Ack] = field(default_factory=list)
    locked_seen: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)


class Client:
    def __init__(self, base: str, log: Log) -> None:
        parts = urllib.parse.urlsplit(base)
        host = parts.hostname or "127.0.0.1"
        self.connection = http.client.HTTPConnection(host, parts.port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.log = log

    def request(
        self, kind: str, method: str, path: str, body: bytes | None = None, headers=None
    ) -> tuple[int, bytes, dict[str, str]]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.perf_counter()
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        self.log.add(kind, time.perf_counter() - start)
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        if LOCKED.encode() in data:
            with self.log.lock:
                self.log.locked_seen += 1
        return response.status, data, dict(response.getheaders())


def closing(user):
    """Runs a simulated user and closes its connection however it ends."""

    def wrapper(base: str, *args) -> None:
        client = Client(base, args[-1])
        try:
            user(client, *args)
        finally:
            client.connection.close()

    return wrapper


@closing
def reporter(client: Client, stage: Stage, unit: str, token: str, until: float, log: Log) -> None:
    """Edits its unit's result again and again, from the version it last saw."""
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    path = f"/api/v1/drives/{stage.drive_id}/results/{urllib.parse.quote(unit)}"
    rnd = random.Random(hash((unit, token)))
    version: int | None = None
    while time.monotonic() < until:
        a, b, c, d = (rnd.randint(0, 20) for _ in range(4))
        # A consistent report: everyone counted registered, and a few more who left.
        values = (a + b + c + d + rnd.randint(0, 20), a, b, c, d)
        body = dict(zip(FIELDS, values, strict=True))
        body["submit"] = rnd.random() < 0.3
        headers = dict(auth, **({"If-Match": str(version)} if version else {}))
        status, data, _ = client.request(
            "reporter: save", "PUT", path, json.dumps(body).encode(), headers
        )
        if status in (200, 201):
            saved = json.loads(data)
            version = saved["version"]
            with log.lock:
                log.acks.append(Ack(unit, version, values))
        elif status == 409:
            with log.lock:
                log.conflicts += 1
            version = _current_version(client, stage, auth, unit)
        else:
            with log.lock:
                log.errors.append(f"PUT {path}: {status} {data[:200]!r}")
        time.sleep(rnd.uniform(0.05, 0.3))  # a person between two saves


def _current_version(client: Client, stage: Stage, auth: dict, unit: str) -> int | None:
    path = f"/api/v1/drives/{stage.drive_id}/results?per_page=1000"
    status, data, _ = client.request("reporter: reload", "GET", path, headers=auth)
    if status != 200:
        client.log.errors.append(f"GET {path}: {status}")
        return None
    found = [r for r in json.loads(data)["items"] if r["unit_code"] == unit]
    return found[0]["version"] if found else None


@closing
def leader(client: Client, stage: Stage, until: float, log: Log) -> None:
    """Signs in, then reads the dashboard and now and then exports the summary."""
    status, page, _ = client.request("leader: sign-in page", "GET", "/dang-nhap")
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page)
    form = urllib.parse.urlencode(
        {"csrf_token": token.group(1).decode() if token else "", "username": stage.leader,
         "password": LEADER_PASSWORD}
    ).encode()  # fmt: skip
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, _ = client.request("leader: sign in", "POST", "/dang-nhap", form, headers)
    if status != 302:
        log.errors.append(f"leader sign-in answered {status}")
        return
    n = 0
    while time.monotonic() < until:
        n += 1
        kind, path = "leader: dashboard", f"/ke-hoach/{stage.plan_id}"
        if n % 5 == 0:
            kind, path = "leader: export", f"/ke-hoach/{stage.plan_id}/bao-cao.xlsx"
        status, data, _ = client.request(kind, "GET", path)
        if status != 200:
            with log.lock:
                log.errors.append(f"GET {path}: {status}")
        time.sleep(0.5)  # reading the page


def run(base: str, stage: Stage, leaders: int, duration: float) -> tuple[Log, float]:
    log = Log()
    until = time.monotonic() + duration
    threads = [
        threading.Thread(target=reporter, args=(base, stage, unit, token, until, log))
        for unit, token in stage.reporters
    ] + [threading.Thread(target=leader, args=(base, stage, until, log)) for _ in range(leaders)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 60)
    return log, time.monotonic() - started
