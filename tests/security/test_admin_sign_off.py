"""Saving a nurse in the user admin keeps her multi-line sign-off (it was a one-line input)."""

import pytest

from accounts.models import User
from accounts.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SIGN_OFF = "Best wishes,\nBreast Care Nurse\nHaven nursing team"


def test_the_sign_off_is_edited_in_a_textarea_and_survives_a_save(admin_client):
    nurse = UserFactory(role=Role.NURSE, display_name="Care Team 7", sign_off=SIGN_OFF)
    page = admin_client.get(f"/admin/accounts/user/{nurse.pk}/change/").content.decode()
    assert '<textarea name="sign_off"' in page
    assert "Best wishes,\nBreast Care Nurse\nHaven nursing team</textarea>" in page

    # What a browser submits from that textarea (CRLF line ends) is kept line by line.
    form = {
        "email": nurse.email,
        "display_name": nurse.display_name,
        "role": "nurse",
        "title": "Breast Care Nurse",
        "sign_off": SIGN_OFF.replace("\n", "\r\n"),
        "suspended_until_0": "",
        "suspended_until_1": "",
        "suspension_reason": "",
        "is_active": "on",
        "emailaddress_set-TOTAL_FORMS": "0",
        "emailaddress_set-INITIAL_FORMS": "0",
        "emailaddress_set-MIN_NUM_FORMS": "0",
        "emailaddress_set-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(f"/admin/accounts/user/{nurse.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.get(pk=nurse.pk).sign_off.splitlines() == SIGN_OFF.splitlines()
