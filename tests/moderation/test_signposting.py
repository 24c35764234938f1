"""Signposting templates: checked when saved, versioned on every edit, rendered safely."""

import pytest
from django.core.exceptions import ValidationError

from moderation.models import SignpostingTemplate
from moderation.services import signposting_template_save
from moderation.signposting import render_template

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
