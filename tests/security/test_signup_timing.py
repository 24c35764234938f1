"""Sign-up answers an existing address as slowly as a new one.

Measured before: 13-42 ms for a registered address, 246-324 ms for a new one (the new
account's password hash), with equal bodies: the timing alone enumerated accounts.
"""

import statistics
import time
from typing import ClassVar

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = "/_allauth/app/v1/auth/signup"


class CountingHasher(MD5PasswordHasher):
    """MD5 (fast) that counts how many passwords were hashed."""

    encoded: ClassVar[int] = 0

    def encode(self, password: str, salt: str) -> str:
        type(self).encoded += 1
        return super().encode(password, salt)


def _signup(email: str, display_name: str):
    payload = {"email": email, "password": "bright-morning-walk-42", "display_name": display_name}
    return APIClient().post(SIGNUP, payload, format="json")


def _hashes_during(email: str, display_name: str) -> tuple[int, object]:
    before = CountingHasher.encoded
    response = _signup(email, display_name)
    return CountingHasher.encoded - before, response


def test_both_paths_hash_a_password_once(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    UserFactory(email="bonnie@haven.test", display_name="Bonnie52")
    new_hashes, new = _hashes_during("new@haven.test", "Newcomer One")
    existing_hashes, existing = _hashes_during("bonnie@haven.test", "Newcomer Two")
    assert new.status_code == existing.status_code == 401
    assert new.json()["data"]["flows"] == existing.json()["data"]["flows"]
    assert new_hashes == existing_hashes == 1
    # Again, when allauth no longer re-sends the owner's email (its cooldown): still one.
    again_hashes, _ = _hashes_during("bonnie@haven.test", "Newcomer Three")
    assert again_hashes == 1
    assert User.objects.count() == 2  # the existing address made no second account


def test_an_invalid_sign_up_hashes_nothing_on_either_path(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    UserFactory(email="bonnie@haven.test", display_name="Bonnie52")
    for email in ("new@haven.test", "bonnie@haven.test"):
        hashes, response = _hashes_during(email, "x")  # too short a display name
        assert response.status_code == 400
        assert hashes == 0


def test_an_existing_address_takes_as_long_as_a_new_one(settings):
    """With the production hasher (PBKDF2), the two paths' medians are close."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    UserFactory(email="bonnie@haven.test", display_name="Bonnie52")

    def timed(email: str, name: str) -> float:
        started = time.perf_counter()
        assert _signup(email, name).status_code == 401
        return time.perf_counter() - started

    new, existing = [], []
    for n in range(3):  # interleaved, so a busy machine slows both alike
        new.append(timed(f"new{n}@haven.test", f"Newcomer {n}a"))
        existing.append(timed("bonnie@haven.test", f"Newcomer {n}b"))
    new_median, existing_median = statistics.median(new), statistics.median(existing)
    print(f"sign-up median: new address {new_median:.3f} s, existing {existing_median:.3f} s")
    assert existing_median > 0.75 * new_median
