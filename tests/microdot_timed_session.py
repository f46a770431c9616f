"""The recipe of docs/microdot.md, run by tests/interop_microdot.rs: a Microdot session
that writes the lifetimes jwt-session's timeouts read."""
# --- recipe start
import time

from microdot.session import Session


class TimedSession(Session):
    """Microdot's Session, writing `iat`, `session_start` and `exp` on every save as
    jwt-session's `idle_timeout` and `absolute_timeout` read them. Give it the Rust
    config's values, in seconds. Remember cookies are untouched: Microdot's Login encodes
    them itself, with their own `exp`."""

    def __init__(self, app=None, idle=30 * 60, absolute=12 * 3600, **kwargs):
        self.idle = idle
        self.absolute = absolute
        super().__init__(app, **kwargs)

    def update(self, request, session):
        now = int(time.time())
        # The absolute window runs from the session's first save, on either side.
        start = session.get('session_start', now)
        session['iat'] = now
        session['session_start'] = start
        session['exp'] = min(now + self.idle, start + self.absolute)
        super().update(request, session)
# --- recipe end
