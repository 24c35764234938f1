"""Saving a nurse in the user admin keeps her multi-line sign-off (it was a one-line input)."""

import pytest

from accounts.models import User
from accounts.roles import Role
from tests.factories import UserFactory
from tests.utils import admin_form

pytestmark = pytest.mark.django_db

SIGN_OFF = "Best wishes,\nBreast Care Nurse\nHaven nursing team"


def test_the_sign_off_is_edited_in_a_textarea_and_survives_a_save(admin_client):
    nurse = UserFactory(role=Role.NURSE, display_name="Care Team 7", sign_off=SIGN_OFF)
    page = admin_client.get(f"/admin/accounts/user/{nurse.pk}/change/").content.decode()
    assert '<textarea name="sign_off"' in page
    assert "Best wishes,\nBreast Care Nurse\nHaven nursing team</textarea>" in page

    # What a browser submits from that textarea (CRLF line ends) is kept line by line.
    url = f"/admin/accounts/user/{nurse.pk}/change/"
    form = admin_form(admin_client, url)
    assert form["sign_off"] == SIGN_OFF
    form["sign_off"] = SIGN_OFF.replace("\n", "\r\n")
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert User.objects.get(pk=nurse.pk).sign_off.splitlines() == SIGN_OFF.splitlines()
