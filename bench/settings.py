"""Production settings, served on loopback for the benchmark, with the ceiling endpoint.

Everything that differs between runs comes from the environment that ``bench/run.py`` sets:
the ``haven_bench`` database, Redis db 14, ``DJANGO_SECURE_SSL_REDIRECT=false`` (plain
HTTP on 127.0.0.1) and throttle rates high enough never to answer 429 during a run.
"""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The pages' stylesheet, collected (hashed, compressed) as a deployment does, into the
# benchmark's own git-ignored folder.
STATIC_ROOT = BASE_DIR / "bench" / "results" / "static"  # noqa: F405

# The benchmark signs in up to 65 of its own members at once from one address (the like row's
# fresh (member, post) pairs); allauth's per-address sign-in limit (30/min) would refuse them.
ACCOUNT_RATE_LIMITS = {"login": "1000/m/ip"}
