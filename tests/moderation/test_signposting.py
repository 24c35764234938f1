"""Signposting templates: checked when saved, versioned on every edit, rendered safely."""

import pytest
from django.core.exceptions import ValidationError

from forum.models import Post
from moderation.models import SignpostingTemplate
from moderation.services import signposting_template_save
from moderation.signposting import render_template
from tests.factories import make_thread
from tests.utils import client_for

pytestmark = pytest.mark.django_db


def _save(body: str, key: str = "test") -> SignpostingTemplate:
    return signposting_template_save(key=key, name="Test", kind="service", body=body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "Call {{ services.helpdesk.phone }}",
            "“services.helpdesk.phone”: there is no support service “helpdesk”",
        ),
        (
            "Call {{ services.helpline.fax }}",
            "“services.helpline.fax”: a service has no field “fax”",
        ),
        ("Call {{ services.helpline }}", "write services.<service>.<field>"),
        ("{{ secret_key }}", "“secret_key” is not something a signposting template can use."),
        ("{% load static %}", "The tag {% load %} is not allowed"),
        ("{% include 'x.html' %}", "The tag {% include %} is not allowed"),
        ("{{ services.helpline.phone|safe }}", "The filter “safe” is not allowed"),
        ("{% if services.helpline.open_now %}open", "The template does not parse"),
        ("{% if services.helpline.openn %}x{% endif %}", "a service has no field “openn”"),
        ("{{ nurse.name }}", "use nurse.title or nurse.sign_off"),
    ],
)
def test_a_template_that_would_fail_is_refused_at_save(ask_our_nurses, body, message):
    with pytest.raises(ValidationError) as refused:
        _save(body)
    assert any(message in problem for problem in refused.value.message_dict["body"])
    assert not SignpostingTemplate.objects.filter(key="test").exists()


def test_every_edit_is_a_new_version_and_unchanged_text_is_not(ask_our_nurses):
    template = _save("Ring {{ services.helpline.phone }}.")
    assert template.version == 1
    template = _save("Ring us on {{ services.helpline.phone }}.")
    template = _save("Ring us on {{ services.helpline.phone }}.")  # no change
    assert template.version == 2
    assert list(template.versions.values_list("version", "body")) == [
        (2, "Ring us on {{ services.helpline.phone }}."),
        (1, "Ring {{ services.helpline.phone }}."),
    ]


def test_rendering_uses_the_services_and_stays_text():
    text = render_template(
        "{{ services.helpline.phone }} {% if services.helpline.open_now %}open{% else %}"
        "closed{% endif %} {{ services.helpline.name|upper }}",
        {"services": {"helpline": {"phone": "0808 <b>", "open_now": False, "name": "Helpline"}}},
    )
    # Not HTML-escaped here: the answer is Markdown, sanitised when it is rendered.
    assert text == "0808 <b> closed HELPLINE"


def test_a_template_nested_too_deeply_is_refused_not_a_crash(ask_our_nurses):
    deep = "{% if services.helpline.open_now %}" * 3000 + "x" + "{% endif %}" * 3000
    with pytest.raises(ValidationError) as refused:
        _save(deep)
    assert refused.value.message_dict["body"] == ["The template nests too deeply."]


# --- Rows written around the save-time check (a shell, a data fix) ------------------------------

SHELL_WRITTEN = [
    "{% lorem %}",
    "{% lorem 999999 w random %}",
    '{{ services.helpline.name|center:"999999999" }}',
    "{% now 'Y' %}",
    "{% load static %}{% static 'x' %}",
    "{% include 'admin/base.html' %}",
    "{% debug %}",
    "{% for x in services %}{{ x }}{% endfor %}",
    "{{ services.helpline.name|safe }}",
]


@pytest.mark.parametrize("body", SHELL_WRITTEN)
def test_the_engine_runs_only_if_and_the_allowed_filters(body):
    with pytest.raises(ValidationError) as refused:
        render_template(body, {"services": {"helpline": {"name": "Helpline"}}})
    assert "It cannot be used until it is fixed in the admin" in refused.value.messages[0]


def test_what_the_engine_allows_still_renders():
    text = render_template(
        '{% if a and not b %}{{ a|default:"x"|upper }} {{ b|yesno:"yes,no" }}{% elif b %}'
        "{% else %}{{ c|lower|capfirst }}{% endif %}",
        {"a": "on", "b": False, "c": "X"},
    )
    assert text == "ON no"


def _answer(nurse, thread, **fields):
    payload = {"body": "Hello", "signposts": ["helpline"], "close": False} | fields
    return client_for(nurse).post(
        f"/api/v1/threads/{thread.pk}/nurse-answer/", payload, format="json"
    )


def test_a_shell_written_signpost_is_a_clear_error_when_answering(ask_our_nurses, nurse):
    SignpostingTemplate.objects.filter(key="helpline").update(body="{% lorem 999999 w %}")
    question = make_thread(category=ask_our_nurses)
    response = _answer(nurse, question)
    assert response.status_code == 400
    (message,) = response.json()["fields"]["signposts"]
    assert message.startswith("The signposting template “Helpline” is broken.")
    assert "lorem" in message
    assert not Post.objects.filter(thread=question, kind="nurse_answer").exists()
    preview = client_for(nurse).post(
        f"/api/v1/threads/{question.pk}/nurse-answer/preview/", {"body": "Hi"}, format="json"
    )
    assert preview.status_code == 200  # the broken row only matters when it is chosen


def test_a_shell_written_disclaimer_is_a_clear_error_not_a_huge_answer(ask_our_nurses, nurse):
    SignpostingTemplate.objects.filter(key="disclaimer").update(
        body='{{ disclaimer_url|center:"999999999" }}'
    )
    question = make_thread(category=ask_our_nurses)
    for url in ("nurse-answer/preview/", "nurse-answer/"):
        response = client_for(nurse).post(
            f"/api/v1/threads/{question.pk}/{url}", {"body": "Hi"}, format="json"
        )
        assert response.status_code == 400
        (message,) = response.json()["fields"]["non_field_errors"]
        assert "“Ask Our Nurses disclaimer” is broken" in message
    assert not Post.objects.filter(thread=question, kind="nurse_answer").exists()


def test_a_broken_row_shows_as_broken_in_the_picker_and_the_admin(
    ask_our_nurses, nurse, admin_client
):
    broken = SignpostingTemplate.objects.get(key="helpline")
    SignpostingTemplate.objects.filter(pk=broken.pk).update(body="{% lorem %}")
    response = client_for(nurse).get("/api/v1/signposts/")
    assert response.status_code == 200
    previews = {row["key"]: row["preview"] for row in response.json()}
    assert previews["helpline"].startswith("This template is broken.")
    assert "0114 263 6490" in previews["someone_like_me"]
    page = admin_client.get(f"/admin/moderation/signpostingtemplate/{broken.pk}/change/")
    assert page.status_code == 200
    assert "This template is broken." in page.content.decode()
