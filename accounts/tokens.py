"""allauth headless's session tokens (``X-Session-Token``), looked up in one cache read.

allauth's ``SessionTokenStrategy`` asks the session store whether the session exists and
then loads it: with ``cached_db`` sessions that is two Redis round trips (EXISTS, GET) on
every signed-in API call. Loading it once answers both: a missing or expired session loads
empty and clears its key (``allauth.headless.internal.sessionkit.lookup_session``, which
allauth's own JWT strategy uses). Nothing about the user is kept between requests: she is
read from the database on each, as before.
"""

from allauth.headless.internal import sessionkit
from allauth.headless.tokens.strategies.sessions import SessionTokenStrategy as AllauthStrategy
from django.contrib.sessions.backends.base import SessionBase


class SessionTokenStrategy(AllauthStrategy):
    def lookup_session(self, session_token: str) -> SessionBase | None:
        """The session ``session_token`` names, or None when there is none (or it expired)."""
        return sessionkit.lookup_session(session_token)
