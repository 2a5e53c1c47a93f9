"""Local identicons: an avatar per commenter without asking any third party.

The key is an HMAC of the email (or name), so the public URL reveals nothing
that could be reversed into an address, unlike Gravatar's bare hash. An
operator who wants Gravatar anyway sets GRAVATAR: the avatar URL then
redirects there (publishing the email's SHA-256, which Gravatar needs).
"""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from markupsafe import escape

SIZE = 5  # a 5×5 grid mirrored left to right


def avatar_key(email: str | None, name: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    who = (email or f"name:{name}").strip().lower().encode()
    return hmac.new(secret, who, hashlib.sha256).hexdigest()[:24]


def identicon_svg(key: str, px: int = 60) -> str:
    digest = hashlib.sha256(key.encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    cell = px / (SIZE + 1)
    pad = cell / 2
    rects = []
    for row in range(SIZE):
        for col in range((SIZE + 1) // 2):
            if digest[2 + row * 3 + col] & 1:
                for c in {col, SIZE - 1 - col}:
                    rects.append(f'<rect x="{pad + c * cell:.1f}" y="{pad + row * cell:.1f}" '
                                 f'width="{cell:.1f}" height="{cell:.1f}"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" '
            f'viewBox="0 0 {px} {px}" role="img" aria-label="{escape("avatar")}">'
            f'<rect width="{px}" height="{px}" fill="hsl({hue},45%,92%)"/>'
            f'<g fill="hsl({hue},55%,40%)">{"".join(rects)}</g></svg>')


GRAVATAR_ORIGIN = "https://www.gravatar.com"


def gravatar_url(email: str, px: int = 96) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"{GRAVATAR_ORIGIN}/avatar/{digest}?s={px}&d=identicon&r=g"
