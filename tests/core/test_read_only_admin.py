"""Records only the services write (the audit log, likes, published nurse answers) are
read-only in the admin, superusers included: one ``core.admin.ReadOnlyAdmin``."""

import pytest
from django.contrib import admin

from core.admin import ReadOnlyAdmin
from core.models import AuditEntry
from forum.models import Like, Post
from forum.services import post_like
from moderation.models import NurseAnswer
from tests.factories import UserFactory, make_thread

pytestmark = pytest.mark.django_db


def _url(model, suffix: str = "") -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/{suffix}"


@pytest.mark.parametrize("model", [AuditEntry, Like, NurseAnswer])
def test_the_list_is_readable_and_nothing_can_be_added(admin_client, model):
    assert isinstance(admin.site._registry[model], ReadOnlyAdmin)
    assert admin_client.get(_url(model)).status_code == 200
    assert admin_client.get(_url(model, "add/")).status_code == 403


def test_a_row_can_be_viewed_but_neither_changed_nor_deleted(admin_client):
    post = Post.objects.get(thread=make_thread())
    post_like(user=UserFactory(), post=post)
    like = Like.objects.get()
    page = admin_client.get(_url(Like, f"{like.pk}/change/"))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(_url(Like, f"{like.pk}/change/"), {}).status_code == 403
    assert admin_client.post(_url(Like, f"{like.pk}/delete/"), {"post": "yes"}).status_code == 403
    assert Like.objects.filter(pk=like.pk).exists()
