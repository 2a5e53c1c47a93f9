"""walk(): the thread as a tree, in one pass, without recursion."""
import sys
from dataclasses import dataclass

import pytest

from blog.reading.thread import walk


@dataclass
class C:
    id: int
    parent_id: int | None = None


class Counted(C):
    """Counts every attribute read, to show walk() touches each comment a fixed number of times."""

    reads = 0

    def __getattribute__(self, name):
        if name in ("id", "parent_id"):
            Counted.reads += 1
        return object.__getattribute__(self, name)


def shape(comments) -> str:
    """The walk as text: "1(2(3)4)5" — a comment, its children in brackets."""
    out = []
    for node in walk(comments):
        out.append({"comment": lambda: str(node.comment.id), "children": lambda: "(",
                    "end_children": lambda: ")", "end_comment": lambda: ""}[node.kind]())
    return "".join(out)


def test_empty():
    assert list(walk([])) == []


def test_nesting_order_depth_first():
    comments = [C(1), C(2, 1), C(3, 2), C(4, 1), C(5), C(6, 5), C(7)]
    assert shape(comments) == "1(2(3)4)5(6)7"


def test_every_opened_comment_is_closed():
    comments = [C(1), C(2, 1), C(3, 2), C(4)]
    kinds = [n.kind for n in walk(comments)]
    assert kinds.count("comment") == kinds.count("end_comment") == 4
    assert kinds.count("children") == kinds.count("end_children") == 2
    assert kinds == ["comment", "children", "comment", "children", "comment", "end_comment",
                     "end_children", "end_comment", "end_children", "end_comment", "comment", "end_comment"]


def test_siblings_keep_the_given_order_oldest_first():
    # The query orders by created_at, id; replies arriving between top-level comments stay under their parents.
    comments = [C(10), C(11), C(12, 10), C(13, 11), C(14, 10), C(15)]
    assert shape(comments) == "10(12 14)11(13)15".replace(" ", "")


def test_orphans_are_dropped_with_their_replies():
    # 3's parent (2) is not visible (held, spam, or on another page): 3 and 4 under it go too.
    comments = [C(1), C(3, 2), C(4, 3), C(5, 1), C(6, 99)]
    assert shape(comments) == "1(5)"


def test_a_chain_ten_thousand_deep_does_not_recurse():
    n = 10_000
    assert n > sys.getrecursionlimit()
    comments = [C(1)] + [C(i, i - 1) for i in range(2, n + 1)]
    nodes = list(walk(comments))
    assert len(nodes) == 4 * n - 2  # each: open, close; all but the last: open and close children
    assert [node.comment.id for node in nodes if node.kind == "comment"] == list(range(1, n + 1))


def test_ten_thousand_siblings():
    comments = [C(i) for i in range(1, 10_001)]
    assert [n.comment.id for n in walk(comments) if n.kind == "comment"] == list(range(1, 10_001))


def mixed_thread(n: int) -> list[Counted]:
    """Top-level comments, each with a chain of three replies."""
    comments = []
    for i in range(1, n + 1):
        comments.append(Counted(i, None if i % 4 == 1 else i - 1))
    return comments


@pytest.mark.parametrize("n", [2_500, 10_000])
def test_linear_work_per_comment(n):
    Counted.reads = 0
    nodes = list(walk(mixed_thread(n)))
    assert len([x for x in nodes if x.kind == "comment"]) == n
    per_comment = Counted.reads / n
    assert per_comment <= 3  # parent_id once to group, id once to find children: no scanning
