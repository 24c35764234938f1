"""Rows are built without work hidden in model-init signals.

Django sends ``pre_init`` and ``post_init`` for every model instance built (a posts page
builds dozens); with no receivers each send returns at once. A receiver for these (an
ImageField's dimensions, a "dirty fields" helper, a library's tracker) would run for every
row of every page: this pins that none is connected, for any model, once every app is ready
and after requests have run.
"""

import pytest
from django.apps import apps
from django.db.models.signals import post_init, pre_init
from rest_framework.test import APIClient

from tests.factories import UserFactory, make_thread


@pytest.mark.django_db
def test_no_model_init_receivers_for_any_model():
    thread = make_thread(author=UserFactory())
    client = APIClient()
    assert client.get(f"/api/v1/threads/{thread.pk}/posts/").status_code == 200
    assert client.get(f"/t/{thread.pk}/").status_code == 200
    for model in apps.get_models():
        assert not pre_init.has_listeners(model), model
        assert not post_init.has_listeners(model), model
