#!/usr/bin/env python3
"""Benchmark: our thread page and JSON thread against Isso and nginx, side by side.

    .venv/bin/python bench/run.py --full     # the recorded run (see bench/README.md)
    .venv/bin/python bench/run.py --quick    # a short smoke run of every part

Everything runs on loopback: the app under gunicorn (2 workers) on SQLite and on
PostgreSQL, Isso (its own venv, bench/.venv-isso) and nginx serving saved copies of
our responses; wrk (or, for posting, a bounded Python client) drives the load from
separate processes. Results go to bench/results/latest.json and latest.md.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV = ROOT / ".venv" / "bin"
ISSO_VENV = BENCH / ".venv-isso"
ISSO_VERSION = "0.14.0"  # the newest release; installs and runs on Python 3.11
GUNICORN_VERSION = "27.0.1"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "blog_test_perf_bench"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
CONCURRENCY = 8


def log(*args) -> None:
    print(time.strftime("%H:%M:%S"), *args, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                r.read()
                return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextmanager
def server(cmd: list[str], env: dict, ready_url: str, log_path: Path, cwd: Path = ROOT):
    """Start a server in its own process group; stop that group (and only it) afterwards."""
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=cwd, stdout=out, stderr=out,
                                start_new_session=True)
    try:
        wait_http(ready_url)
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def cpu_seconds(pids) -> float:
    """User + system CPU time of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def workers_of(master_pid: int) -> list[str]:
    return Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()


def postgres_pids() -> list[str]:
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "postgres":
                pids.append(pid)
        except OSError:
            pass
    return pids


def measured_posting(port: int, seconds: float, prepare, send, master_pid: int, db_name: str) -> dict:
    """Comments/s, and the CPU each comment took in the workers and in the database server
    (PostgreSQL's processes; SQLite's work is in the workers)."""
    workers = workers_of(master_pid)
    server = (lambda: {pid: cpu_seconds([pid]) for pid in postgres_pids()}) if db_name == "postgresql" else dict
    before = cpu_seconds(workers), server()
    started = time.monotonic()
    accepted = post_load(port, seconds, prepare, send)
    elapsed = time.monotonic() - started
    after = cpu_seconds(workers), server()
    # A backend that started during the run (a worker's first connection) counts from zero.
    db_cpu = sum(cpu - before[1].get(pid, 0) for pid, cpu in after[1].items())
    per = (lambda seconds: round(seconds * 1000 / accepted, 2) if accepted else None)
    return {"per_s": round(accepted / elapsed, 1), "accepted": accepted, "worker_cpu_ms": per(after[0] - before[0]),
            "db_cpu_ms": per(db_cpu) if after[1] else None}


def worker_peak_rss_mb(master_pid: int) -> list[float]:
    """Peak resident memory (VmHWM) of each child of a gunicorn master."""
    peaks = []
    for pid in workers_of(master_pid):
        status = Path(f"/proc/{pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            peaks.append(round(int(match.group(1)) / 1024, 1))
    return peaks


# --- load -----------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(number) * UNITS[unit]


def wrk(url: str, seconds: float) -> dict:
    """Requests/s and latency percentiles from wrk (2 threads, 8 connections)."""
    out = subprocess.run(["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{max(1, round(seconds))}s", "--timeout", "300s",
                          "--latency", url], capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = round(_ms(match.group(1)), 2) if match else None
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    result["non_2xx"] = int(bad.group(1)) if bad else 0
    result["socket_errors"] = errors.group(1) if errors else ""
    return result


def best_of(runs: list[dict]) -> dict:
    """The repetition with the most requests/s, with every repetition's rate alongside."""
    best = dict(max(runs, key=lambda r: r["rps"]))
    best["all_rps"] = [r["rps"] for r in runs]
    return best


def post_load(port: int, seconds: float, prepare, send) -> int:
    """CONCURRENCY clients post comments for ``seconds``; returns the accepted count.

    Each client finishes the request in flight before it stops, so every accepted
    response is counted and nothing is left in flight when the count is checked.
    """
    accepted = [0] * CONCURRENCY
    failures: list[str] = []
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        state = prepare(port, i)
        n = 0
        while time.monotonic() < stop:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                status = send(conn, state, i, n)
            except OSError as exc:  # counted as not accepted; the database count will tell
                status = False
                failures.append(f"client {i} request {n}: {exc!r}")
            finally:
                conn.close()
            n += 1
            if status:
                accepted[i] += 1
            elif len(failures) < 5:
                failures.append(f"client {i} request {n} refused")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        log("  posting refusals:", failures)
    return sum(accepted)


def body_for(i: int, n: int, run: str) -> str:
    return (f"Benchmark comment {run} {i}-{n}. " + "A comment of about the usual length, "
            "saying something kind about the post and asking a question or two. " * 2).strip()


# Our form: a session cookie and CSRF token per client, as a browser would have.
def ours_prepare(port: int, i: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", ours_prepare.path)
    res = conn.getresponse()
    html = res.read().decode()
    cookie = res.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    stamp = re.search(r'name="comment_ts"[^>]*value="([^"]+)"', html).group(1)
    conn.close()
    return {"cookie": cookie, "token": token, "stamp": stamp}


def ours_send(conn, state: dict, i: int, n: int) -> bool:
    from urllib.parse import urlencode

    form = urlencode({"author": f"Bench Client {i}", "email": f"bench{i}@example.org", "url": "",
                      "comment": body_for(i, n, ours_send.run), "comment_parent": "0",
                      "csrf_token": state["token"], "comment_ts": state["stamp"], "comment_hp": ""})
    conn.request("POST", ours_prepare.path + "comments", body=form, headers={
        "Cookie": state["cookie"], "Content-Type": "application/x-www-form-urlencoded"})
    res = conn.getresponse()
    res.read()
    cookie = res.getheader("Set-Cookie")
    if cookie:  # the held-comments list lives in the session
        state["cookie"] = cookie.split(";", 1)[0]
    return res.status == 303


def isso_send(conn, state: dict, i: int, n: int) -> bool:
    body = json.dumps({"text": body_for(i, n, isso_send.run), "author": f"Bench Client {i}",
                       "email": f"bench{i}@example.org", "title": "Posting benchmark"})
    conn.request("POST", f"/new?uri={isso_send.uri}", body=body,
                 headers={"Content-Type": "application/json"})
    res = conn.getresponse()
    res.read()
    return res.status in (201, 202)


# --- databases and seeds --------------------------------------------------

def flask(env: dict, *args: str) -> str:
    return subprocess.run([str(VENV / "flask"), "--app", "app", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, check=True).stdout


def count_comments(db_url: str, slug: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM comments JOIN posts ON posts.id = comments.post_id "
                              "WHERE posts.slug = :s"), {"s": slug}).scalar()
    engine.dispose()
    return n


def thread_rows(db_url: str, slug: str) -> list[tuple]:
    """Our seeded thread (id, parent, depth, name, email, text), to give Isso the same one."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.id, c.parent_id, c.depth, c.author_name, c.author_email, c.body_raw FROM comments c "
            "JOIN posts p ON p.id = c.post_id WHERE p.slug = :s ORDER BY c.id"), {"s": slug}).all()
    engine.dispose()
    return [tuple(r) for r in rows]


@contextmanager
def postgres_database():
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {PG_DB}"))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
        admin.dispose()


def clear_redis_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i:i + 500])
    client.close()


# --- the three servers ----------------------------------------------------

def app_env(db_url: str) -> dict:
    # Flood control and rate limits off: the posting benchmark is 8 clients on one address,
    # and each sends its form at once (a person takes longer than the 3 s that counts as spam).
    return {"DATABASE_URL": db_url, "SECRET_KEY": "benchmark-only-secret", "BLOG_ENV": "production",
            "BLOG_COMMENT_FLOOD_SECONDS": "0", "BLOG_RATELIMIT_ENABLED": "false",
            "BLOG_COMMENT_MIN_SUBMIT_SECONDS": "0"}


def ours_cmd(port: int) -> list[str]:
    return [str(VENV / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "-w", "2", "-b", f"127.0.0.1:{port}", "app:app"]


def seed(env: dict, sizes: list[int], db_name: str) -> None:
    log(f"[{db_name}] migrating and seeding {sizes}")
    flask(env, "db", "upgrade")
    for n in sizes:
        flask(env, "demo", "thread", "--slug", f"bench-{n}", "--comments", str(n))


def bench_ours(args, work: Path, db_name: str, db_url: str, results: dict, copies: Path) -> None:
    env = app_env(db_url)
    seed(env, args.sizes, db_name)
    modes = {"off": {"BLOG_PAGE_CACHE": "false"}, "on": {"BLOG_PAGE_CACHE": "true"}}
    if args.redis and db_name == "postgresql":
        modes["redis"] = {"BLOG_PAGE_CACHE": "true", "REDIS_URL": REDIS_URL,
                          "BLOG_PAGE_CACHE_PREFIX": f"bench:{uuid.uuid4().hex}:"}
    for mode, extra in modes.items():
        port = free_port()
        with server(ours_cmd(port), {**env, **extra}, f"http://127.0.0.1:{port}/",
                    work / f"ours-{db_name}-{mode}.log") as proc:
            for n in args.sizes:
                for name, path in (("page", f"/bench-{n}/"),
                                   ("json", f"/api/v1/posts/bench-{n}/comments?per_page=all")):
                    url = f"http://127.0.0.1:{port}{path}"
                    with urllib.request.urlopen(url, timeout=120) as r:  # warm up (and fill the cache)
                        body = r.read()
                    if mode == "on" and db_name == "sqlite":
                        (copies / f"{name}-{n}.{'html' if name == 'page' else 'json'}").write_bytes(body)
                    runs = [wrk(url, args.seconds) for _ in range(args.reps)]
                    point = {**best_of(runs), "bytes": len(body)}
                    results["ours"].setdefault(db_name, {}).setdefault(mode, {}).setdefault(str(n), {})[name] = point
                    log(f"[{db_name} cache {mode}] N={n} {name}: {point['rps']:.1f} req/s "
                        f"p50 {point['p50_ms']} ms p99 {point['p99_ms']} ms ({len(body):,} bytes)")
            rss = worker_peak_rss_mb(proc.pid)
            results["ours"][db_name][mode]["rss_mb"] = rss
            log(f"[{db_name} cache {mode}] peak RSS per worker: {rss} MB")
        if mode == "redis":
            clear_redis_prefix(extra["BLOG_PAGE_CACHE_PREFIX"])
    # Posting, each on a fresh server (a worker that reaches max_requests restarts mid-run), with
    # the author mailed about held comments as by default, then without the mail to show its cost.
    for key, extra in (("posting", {}), ("posting_no_mail", {"BLOG_MODERATION_NOTIFY_HELD": "false"})):
        port = free_port()
        with server(ours_cmd(port), {**env, **modes["on"], **extra}, f"http://127.0.0.1:{port}/",
                    work / f"ours-{db_name}-{key}.log") as proc:
            results["ours"][db_name][key] = bench_posting(args, env, port, proc.pid, db_name, db_url, key)


def bench_posting(args, env: dict, port: int, master_pid: int, db_name: str, db_url: str,
                  label: str = "") -> dict:
    """Comments/s into a new post, each rep: the best rep with every rep's rate, and whether
    every accepted comment was stored once."""
    posting = []
    for rep in range(args.reps):
        slug = f"bench-post-{rep}-{uuid.uuid4().hex[:6]}"
        flask(env, "demo", "thread", "--slug", slug, "--comments", "0")
        ours_prepare.path = f"/{slug}/"
        ours_send.run = slug
        point = measured_posting(port, args.seconds, ours_prepare, ours_send, master_pid, db_name)
        stored = count_comments(db_url, slug)
        posting.append(point | {"stored": stored, "exact": point["accepted"] == stored})
        log(f"[{db_name}] posting {label}: {point['per_s']} comments/s, {point['accepted']} accepted, "
            f"{stored} stored; CPU a comment: workers {point['worker_cpu_ms']} ms, "
            f"database server {point['db_cpu_ms']} ms")
    return max(posting, key=lambda p: p["per_s"]) | {
        "all_per_s": [p["per_s"] for p in posting], "exact": all(p["exact"] for p in posting)}


def ensure_isso() -> Path:
    python = ISSO_VENV / "bin" / "python"
    if not (ISSO_VENV / "bin" / "gunicorn").exists():
        log(f"installing Isso {ISSO_VERSION} into {ISSO_VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(ISSO_VENV)], check=True)
        subprocess.run([str(ISSO_VENV / "bin" / "pip"), "install", "-q", f"isso=={ISSO_VERSION}",
                        f"gunicorn=={GUNICORN_VERSION}"], check=True)
    return python


def isso_post(port: int, uri: str, body: dict) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", f"/new?uri={uri}", body=json.dumps(body), headers={"Content-Type": "application/json"})
    res = conn.getresponse()
    data = res.read()
    conn.close()
    return res.status, data


def seed_isso(port: int, uri: str, rows: list[tuple]) -> None:
    """Post our thread to Isso through its API, depth by depth (a reply needs its parent's id).

    The first comment goes alone: Isso's lock against two workers creating one thread at
    once is per process, and the loser answers 500.
    """
    ids: dict[int, int] = {}
    cid, _, _, name, email, text = rows[0]
    status, data = isso_post(port, uri, {"text": text, "author": name, "email": email, "title": "Benchmark thread"})
    if status not in (201, 202):
        raise RuntimeError(f"Isso refused a seed comment: {status} {data[:200]!r}")
    ids[cid] = json.loads(data)["id"]
    rows = rows[1:]
    by_depth: dict[int, list[tuple]] = {}
    for row in rows:
        by_depth.setdefault(row[2], []).append(row)
    for depth in sorted(by_depth):
        batch = by_depth[depth]
        lock = threading.Lock()

        def worker(part: list[tuple]) -> None:
            for cid, parent, _, name, email, text in part:
                status, data = isso_post(port, uri, {"text": text, "author": name, "email": email,
                                                     "title": "Benchmark thread",
                                                     "parent": ids.get(parent) if parent else None})
                if status not in (201, 202):
                    raise RuntimeError(f"Isso refused a seed comment: {status} {data[:200]!r}")
                with lock:
                    ids[cid] = json.loads(data)["id"]

        parts = [batch[i::CONCURRENCY] for i in range(CONCURRENCY)]
        threads = [threading.Thread(target=worker, args=(p,)) for p in parts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if len(ids) != len(rows) + 1:
        raise RuntimeError(f"Isso stored {len(ids)} of {len(rows) + 1} seed comments")


def bench_isso(args, work: Path, seed_db_url: str, results: dict) -> None:
    python = ensure_isso()
    port = free_port()
    db = work / "isso.db"
    cfg = work / "isso.cfg"
    cfg.write_text(f"""[general]
dbpath = {db}
host = http://127.0.0.1:{port}/
[server]
listen = http://127.0.0.1:{port}/
[guard]
# Off, as for any load test: its rate limit allows 2 comments a minute per address.
enabled = false
""")
    # A long timeout: Isso takes seconds per fetch of a big thread, past gunicorn's 30 s default.
    # --preload, as Isso's docs advise: two workers setting up a new database at once collide.
    cmd = [str(python.parent / "gunicorn"), "-w", "2", "--preload", "--timeout", "600", "-b", f"127.0.0.1:{port}",
           "isso.run"]
    ready = f"http://127.0.0.1:{port}/info"
    with server(cmd, {"ISSO_SETTINGS": str(cfg)}, ready, work / "isso.log") as proc:
        for n in args.sizes:
            log(f"[isso] seeding N={n} through its API")
            seed_isso(port, f"/bench-{n}/", thread_rows(seed_db_url, f"bench-{n}"))
        # Posting first: a big fetch still running after wrk stops would queue the posts behind it.
        posting = []
        for rep in range(args.reps):
            isso_send.uri = f"/bench-post-{rep}/"
            isso_send.run = f"isso-{rep}"
            isso_post(port, isso_send.uri, {"text": "Opening the thread", "title": "Posting benchmark"})
            point = measured_posting(port, args.seconds, lambda port, i: {}, isso_send, proc.pid, "sqlite")
            accepted = point["accepted"]
            with sqlite3.connect(db) as conn:
                stored = conn.execute("SELECT count(*) FROM comments JOIN threads ON threads.id = comments.tid "
                                      "WHERE threads.uri = ?", (isso_send.uri,)).fetchone()[0] - 1
            posting.append(point | {"stored": stored, "exact": accepted == stored})
            log(f"[isso] posting: {point['per_s']} comments/s, {accepted} accepted, {stored} stored; "
                f"CPU a comment: workers {point['worker_cpu_ms']} ms")
        results["isso"]["posting"] = max(posting, key=lambda p: p["per_s"]) | {
            "all_per_s": [p["per_s"] for p in posting]}
        for n in args.sizes:
            url = f"http://127.0.0.1:{port}/?uri=/bench-{n}/&nested_limit=5"
            started = time.monotonic()
            with urllib.request.urlopen(url, timeout=600) as r:
                body = r.read()
            # Long enough for about 8 responses per worker when one takes seconds.
            seconds = max(args.seconds, min(180.0, (time.monotonic() - started) * 8))
            runs = []
            for _ in range(args.reps):
                runs.append(wrk(url, seconds))
                wait_http(ready, timeout=900)  # drain: fetches wrk left in flight still run
            point = {**best_of(runs), "bytes": len(body)}
            results["isso"].setdefault(str(n), {})["json"] = point
            log(f"[isso] N={n} fetch: {point['rps']:.2f} req/s p50 {point['p50_ms']} ms "
                f"p99 {point['p99_ms']} ms ({len(body):,} bytes)")
        results["isso"]["rss_mb"] = worker_peak_rss_mb(proc.pid)
        log(f"[isso] peak RSS per worker: {results['isso']['rss_mb']} MB")


def bench_nginx(args, work: Path, copies: Path, results: dict) -> None:
    port = free_port()
    root = work / "nginx"
    (root / "tmp").mkdir(parents=True)
    os.chmod(work, 0o755)
    for path in (root, copies):
        os.chmod(path, 0o755)
    conf = root / "nginx.conf"
    conf.write_text(f"""worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log;
daemon off;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
  uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
  types {{ text/html html; application/json json; }}
  server {{ listen 127.0.0.1:{port}; root {copies}; }}
}}
""")
    serve_copies(args, ["nginx", "-p", str(root), "-c", str(conf)], {}, port, copies, results, "nginx",
                 work / "nginx.log")


# The most any Python app can do under our gunicorn set-up: the same bytes from memory, no framework.
CEILING_APP = """
import os
from pathlib import Path

COPIES = {p.name: p.read_bytes() for p in Path(os.environ["BENCH_COPIES"]).iterdir()}


def app(environ, start_response):
    body = COPIES[environ["PATH_INFO"].lstrip("/")]
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""


def bench_ceiling(args, work: Path, copies: Path, results: dict) -> None:
    (work / "ceiling.py").write_text(CEILING_APP)
    port = free_port()
    cmd = [str(VENV / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--chdir", str(work), "ceiling:app"]
    serve_copies(args, cmd, {"BENCH_COPIES": str(copies)}, port, copies, results, "ceiling",
                 work / "ceiling.log")


def serve_copies(args, cmd: list[str], env: dict, port: int, copies: Path, results: dict, name: str,
                 log_path: Path) -> None:
    """Start a server of the saved copies and measure each of them."""
    first = sorted(p.name for p in copies.iterdir())[0]
    with server(cmd, env, f"http://127.0.0.1:{port}/{first}", log_path):
        for copy in sorted(copies.iterdir()):
            what, n = copy.stem.split("-")
            runs = [wrk(f"http://127.0.0.1:{port}/{copy.name}", args.seconds) for _ in range(args.reps)]
            point = {**best_of(runs), "bytes": copy.stat().st_size}
            results[name].setdefault(n, {})[what] = point
            log(f"[{name}] {copy.name}: {point['rps']:.0f} req/s p50 {point['p50_ms']} ms p99 {point['p99_ms']} ms")


# --- report ---------------------------------------------------------------

def machine() -> dict:
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    return {"cpu": cpu.group(1) if cpu else platform.processor(), "cores": os.cpu_count(),
            "memory_gb": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
            "kernel": platform.release(), "python": platform.python_version(),
            "load_before": os.getloadavg()}


def ratio(a, b) -> str:
    if not (a and b):
        return "–"
    return f"{a / b:,.1f}×" if a >= b else f"{a / b:.3f}×"


def report(results: dict) -> str:
    lines = []
    m = results["machine"]
    lines.append(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Linux {m['kernel']}, "
                 f"Python {m['python']}; load average before {m['load_before']}, after {m.get('load_after')}")
    lines.append(f"Settings: {results['settings']}")
    lines.append("")
    lines.append("| DB | cache | N | what | bytes | req/s | p50 ms | p99 ms | × Isso | × nginx |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    isso, nginx = results["isso"], results["nginx"]
    for db_name, modes in results["ours"].items():
        for mode, sizes in modes.items():
            if mode.startswith("posting"):
                continue
            for n, points in sizes.items():
                if n == "rss_mb":
                    continue
                for what, p in points.items():
                    peer = isso.get(n, {}).get("json", {}).get("rps") if what == "json" else None
                    ceiling = nginx.get(n, {}).get(what, {}).get("rps")
                    lines.append(f"| {db_name} | {mode} | {n} | {'JSON all' if what == 'json' else 'page HTML'} | "
                                 f"{p['bytes']:,} | {p['rps']:,.1f} | {p['p50_ms']} | {p['p99_ms']} | "
                                 f"{ratio(p['rps'], peer)} | {ratio(p['rps'], ceiling)} |")
    for n, points in isso.items():
        if n.isdigit():
            p = points["json"]
            lines.append(f"| Isso {ISSO_VERSION} (SQLite) | – | {n} | fetch nested_limit=5 | {p['bytes']:,} | "
                         f"{p['rps']:,.2f} | {p['p50_ms']} | {p['p99_ms']} | 1× | |")
    for n, points in nginx.items():
        for what, p in points.items():
            lines.append(f"| nginx (static copy) | – | {n} | {what} | {p['bytes']:,} | {p['rps']:,.0f} | "
                         f"{p['p50_ms']} | {p['p99_ms']} | | 1× |")
    for n, points in results.get("ceiling", {}).items():
        for what, p in points.items():
            ceiling = nginx.get(n, {}).get(what, {}).get("rps")
            lines.append(f"| bare WSGI under gunicorn (same bytes) | – | {n} | {what} | {p['bytes']:,} | "
                         f"{p['rps']:,.0f} | {p['p50_ms']} | {p['p99_ms']} | | {ratio(p['rps'], ceiling)} |")
    lines.append("")
    lines.append("| posting | comments/s | accepted = stored | × Isso | CPU a comment: workers, DB server (ms) |")
    lines.append("|---|---|---|---|---|")
    isso_post = isso.get("posting", {}).get("per_s")
    for db_name, modes in results["ours"].items():
        for key, what in (("posting", "held, the author mailed"), ("posting_no_mail", "held, no mail")):
            p = modes.get(key)
            if p:
                lines.append(f"| ours, {db_name}, {what} | {p['per_s']} (all: {p['all_per_s']}) | {p['exact']} "
                             f"({p['accepted']}/{p['stored']}) | {ratio(p['per_s'], isso_post)} | "
                             f"{p.get('worker_cpu_ms')}, {p.get('db_cpu_ms') or '–'} |")
    if isso.get("posting"):
        p = isso["posting"]
        lines.append(f"| Isso, SQLite | {p['per_s']} (all: {p['all_per_s']}) | {p['exact']} | 1× | "
                     f"{p.get('worker_cpu_ms')}, – |")
    lines.append("")
    lines.append("| peak RSS per worker (MB) | |")
    lines.append("|---|---|")
    for db_name, modes in results["ours"].items():
        for mode, sizes in modes.items():
            if not mode.startswith("posting"):
                lines.append(f"| ours, {db_name}, cache {mode} | {sizes.get('rss_mb')} |")
    if isso.get("rss_mb"):
        lines.append(f"| Isso | {isso['rss_mb']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="N=100,1000,10000; 10 s a point; 2 repetitions")
    parser.add_argument("--quick", action="store_true", help="N=100,1000; 2 s a point; 1 repetition")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--reps", type=int)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--no-isso", action="store_true")
    parser.add_argument("--no-nginx", action="store_true")
    parser.add_argument("--no-redis", dest="redis", action="store_false",
                        help="skip the cache-in-Redis run on PostgreSQL")
    args = parser.parse_args()
    preset = (([100, 1000], 2.0, 1) if args.quick else ([100, 1000, 10000], 10.0, 2))
    args.sizes = args.sizes or preset[0]
    args.seconds = args.seconds or preset[1]
    args.reps = args.reps or preset[2]
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")
    if not args.no_nginx and not shutil.which("nginx"):
        sys.exit("nginx is needed: apt-get install -y nginx-light (or pass --no-nginx)")

    started = time.monotonic()
    results = {"machine": machine(), "settings": {"sizes": args.sizes, "seconds": args.seconds, "reps": args.reps,
                                                  "concurrency": CONCURRENCY, "workers": 2},
               "ours": {}, "isso": {}, "nginx": {}, "ceiling": {}}
    work = Path(tempfile.mkdtemp(prefix="blog-bench-"))
    copies = work / "copies"
    copies.mkdir()
    log(f"work folder {work}")
    sqlite_url = f"sqlite:///{work / 'bench.sqlite3'}"
    try:
        databases = args.databases.split(",")
        if "sqlite" in databases:
            bench_ours(args, work, "sqlite", sqlite_url, results, copies)
        elif not args.no_isso:
            seed(app_env(sqlite_url), args.sizes, "sqlite")  # Isso is given the same thread
        if "postgresql" in databases:
            with postgres_database() as pg_url:
                bench_ours(args, work, "postgresql", pg_url, results, copies)
        if not args.no_isso:
            bench_isso(args, work, sqlite_url, results)
        if not args.no_nginx and any(copies.iterdir()):
            bench_nginx(args, work, copies, results)
            bench_ceiling(args, work, copies, results)
    finally:
        results["machine"]["load_after"] = os.getloadavg()
        results["elapsed_s"] = round(time.monotonic() - started)
        out = BENCH / "results"
        out.mkdir(exist_ok=True)
        (out / "latest.json").write_text(json.dumps(results, indent=2))
        text = report(results)
        (out / "latest.md").write_text(text + f"\n\nElapsed: {results['elapsed_s']} s\n")
        print()
        print(text)
        print(f"\nElapsed: {results['elapsed_s']} s; logs and copies in {work}")


if __name__ == "__main__":
    main()
