"""Redirect targets taken from requests."""


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site path only: one leading "/", no "//", no backslash, no scheme, no control characters."""
    if (not target or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target)):
        return default
    return target
