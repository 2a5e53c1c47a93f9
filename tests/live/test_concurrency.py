"""Concurrency without loss: 16 clients post 2,000+ comments and replies to gunicorn at once.

Afterwards every accepted comment (303) is stored exactly once with the right
parent and depth, every refused one got a clear 4xx, nothing got a 5xx, and
the thread shows exactly the accepted comments, each stored with its own
text sanitised. Counts and duration are printed (run with -s to see them).
"""
from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests
from sqlalchemy import create_engine, select

from blog.comments.service import DUPLICATE_MESSAGE
from blog.models import Comment
from blog.sanitize import sanitize_comment
from tests.conftest import csrf_from
from tests.live.conftest import gunicorn, load_post

pytestmark = pytest.mark.live

CLIENTS = 16
COMMENTS_PER_CLIENT = 128  # 2,048 comments and replies
REFUSALS_PER_CLIENT = 8  # duplicates and empty comments sent on purpose
MAX_DEPTH = 5
LOCATION = re.compile(r"#comment-(\d+)$")


@dataclass
class Accepted:
    id: int
    parent: int | None
    depth: int
    marker: str


@dataclass
class Ledger:
    """What the clients were told, shared between their threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: dict[int, Accepted] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    unclear: list[str] = field(default_factory=list)

    def pick_parent(self, rng: random.Random) -> Accepted | None:
        with self.lock:
            if not self.accepted:
                return None
            return self.accepted[rng.choice(list(self.accepted))]


def run_client(n: int, base: str, slug: str, ledger: Ledger) -> None:
    rng = random.Random(n)
    session = requests.Session()
    page = session.get(f"{base}/{slug}/", timeout=30)
    token = csrf_from(page.text)
    form = {"author": f"Client {n}", "email": f"client{n}@example.org", "url": "", "csrf_token": token,
            # What a browser sends back: the form's signed "served at" stamp and the empty honeypot.
            **dict(re.findall(r'name="(comment_ts|comment_hp)"[^>]*value="([^"]*)"', page.text))}
    refusals = set(rng.sample(range(1, COMMENTS_PER_CLIENT), REFUSALS_PER_CLIENT))
    last_body = None
    for i in range(COMMENTS_PER_CLIENT):
        parent = ledger.pick_parent(rng) if i % 3 == 2 else None
        marker = f"c{n}-{i}"
        body = f"Comment {marker} <b>bold</b> from client {n}"
        send = [(body, parent, True)]
        if i in refusals:
            send.append((last_body, None, False) if i % 2 else ("   ", None, False))
        for text, to, valid in send:
            data = {**form, "comment": text, "comment_parent": str(to.id) if to else "0"}
            res = session.post(f"{base}/{slug}/comments", data=data, allow_redirects=False, timeout=60)
            with ledger.lock:
                ledger.statuses[res.status_code] += 1
            if res.status_code == 303 and valid:
                match = LOCATION.search(res.headers["Location"])
                assert match, res.headers["Location"]
                if to is None:
                    expected = Accepted(int(match.group(1)), None, 1, marker)
                elif to.depth >= MAX_DEPTH:  # replies past the depth attach beside their parent
                    expected = Accepted(int(match.group(1)), to.parent, MAX_DEPTH, marker)
                else:
                    expected = Accepted(int(match.group(1)), to.id, to.depth + 1, marker)
                with ledger.lock:
                    ledger.accepted[expected.id] = expected
            elif res.status_code >= 500 or (valid and res.status_code != 303) or (not valid and not (
                    (res.status_code == 409 and DUPLICATE_MESSAGE in res.text)
                    or (res.status_code == 422 and "Please type your comment." in res.text))):
                with ledger.lock:
                    said = re.findall(r'class="(?:field-error|form-message)"[^>]*>(?:<p>)?([^<]*)', res.text)
                    ledger.unclear.append(f"{res.status_code} for {text!r} (reply to {to}): {said}")
        last_body = body


def thread_ids(base: str, slug: str) -> tuple[int, list[int]]:
    """The heading's count and every comment id the thread's pages show."""
    first = requests.get(f"{base}/{slug}/", timeout=30).text
    heading = re.search(r'id="comments-title">([\d,]+) thoughts on', first)
    pages = int(re.search(r"Page 1 of (\d+)", first).group(1))
    ids = []
    for page in range(1, pages + 1):
        html = first if page == 1 else requests.get(f"{base}/{slug}/?cpage={page}", timeout=30).text
        ids += [int(i) for i in re.findall(r'<li id="comment-(\d+)"', html)]
    return int(heading.group(1).replace(",", "")), ids


def test_concurrent_comments_are_all_stored_exactly_once(live_database, tmp_path):
    # Flood interval and minimum form time lifted: 16 machines' worth of readers share one address here.
    slug = load_post(live_database, COMMENT_PREVIOUSLY_APPROVED=False, COMMENT_FLOOD_SECONDS=0,
                     COMMENT_MIN_SUBMIT_SECONDS=0)
    kind = live_database.split(":")[0]
    env = {"BLOG_COMMENT_FLOOD_SECONDS": "0", "BLOG_COMMENT_MIN_SUBMIT_SECONDS": "0"}
    with gunicorn(live_database, tmp_path / "gunicorn.log", workers=2, threads=4, env=env) as server:
        ledger = Ledger()
        started = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            for future in [pool.submit(run_client, n, server.url, slug, ledger) for n in range(CLIENTS)]:
                future.result()
        elapsed = time.monotonic() - started
        heading_count, shown = thread_ids(server.url, slug)
        log = server.log_text()

    sent = sum(ledger.statuses.values())
    print(f"\n[concurrency] {kind}: {CLIENTS} clients sent {sent} comment POSTs "
          f"({CLIENTS * COMMENTS_PER_CLIENT} valid, {CLIENTS * REFUSALS_PER_CLIENT} refusable) in {elapsed:.1f} s "
          f"({sent / elapsed:.0f}/s); statuses {dict(sorted(ledger.statuses.items()))}; "
          f"{len(ledger.accepted)} accepted")
    assert not ledger.unclear, (ledger.unclear[:3], log[log.find("Traceback"):][:3000])
    assert not [s for s in ledger.statuses if s >= 500], log[-3000:]
    assert "Traceback" not in log
    assert len(ledger.accepted) == CLIENTS * COMMENTS_PER_CLIENT

    engine = create_engine(live_database)
    with engine.connect() as conn:
        rows = conn.execute(select(Comment.id, Comment.parent_id, Comment.depth, Comment.root_id,
                                   Comment.body_raw, Comment.body_html, Comment.status)).all()
    engine.dispose()
    demo_ids = set(shown) - set(ledger.accepted)
    stored = {r.id: r for r in rows if r.id not in demo_ids}
    print(f"[concurrency] {kind}: {len(stored)} stored, {len(shown)} shown on the thread "
          f"(with the demo post's {len(demo_ids)})")
    markers = Counter(re.search(r"Comment (c\d+-\d+) ", r.body_raw).group(1) for r in stored.values())
    assert max(markers.values()) == 1, "a comment stored twice"
    assert set(stored) == set(ledger.accepted), "stored comments differ from the accepted ones"
    for cid, expected in ledger.accepted.items():
        row = stored[cid]
        assert (row.parent_id, row.depth, row.status) == (expected.parent, expected.depth, "approved"), cid
        assert f"Comment {expected.marker} " in row.body_raw
        assert row.body_html == sanitize_comment(row.body_raw), cid  # its own text, sanitised alone
        assert row.root_id == (stored[row.parent_id].root_id if row.parent_id else row.id)
    assert len(demo_ids) == 4
    assert heading_count == len(stored) + len(demo_ids)
    assert sorted(shown) == sorted(set(shown)) and set(shown) == set(stored) | demo_ids
