"""Values taken from request URLs: redirect targets and ids."""

from werkzeug.routing import IntegerConverter

# PostgreSQL's integer: a larger id names nothing, and would overflow the query.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` in a route: 1 to MAX_ID, anything else a 404 before the view runs."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site path only: one leading "/", no "//", no backslash, no scheme, no control characters."""
    if (not target or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target)):
        return default
    return target
