# ruff: noqa: RUF001  (the charity's own wording, curly apostrophes included)
"""Ask Our Nurses demo data: the services, templates and page of the reference thread."""

from datetime import date
from typing import Any

WEEKDAYS_9_TO_4 = {day: [["09:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}

SUPPORT_SERVICES: dict[str, dict[str, Any]] = {
    "helpline": {
        "name": "Helpline",
        "description": "Talk things through with our nurses, in confidence.",
        "phone": "0808 800 6000",
        "relay_prefix": "18001",
        "notes": "Free from UK landlines and mobiles. Confidential.",
        "hours": {
            "time_zone": "Europe/London",
            "weekly": {**WEEKDAYS_9_TO_4, "sat": [["09:00", "13:00"]]},
            "closures": ["2026-12-25", "2026-12-26", "2027-01-01"],
        },
    },
    "someone_like_me": {
        "name": "Someone Like Me",
        "description": "Matches you with a trained volunteer who has had a similar experience.",
        "phone": "0114 263 6490",
        "email": "someonelikeme@haven.example",
    },
    "nurse_callback": {
        "name": "Nurse call-back",
        "description": "Ask one of our nurses to call you back.",
        "url": "https://haven.example/nurse-call-back",
    },
}

# (key, name, kind, body): the wording of the reference thread's nurse answer.
TEMPLATES: list[tuple[str, str, str, str]] = [
    (
        "someone_like_me",
        "Someone Like Me",
        "service",
        "At times like this, talking to someone who has had a similar experience can often "
        "be helpful. Our {{ services.someone_like_me.name }} service can match you with a "
        "trained volunteer who’s had a similar experience to you.\n\n"
        "You can ring the {{ services.someone_like_me.name }} team on "
        "{{ services.someone_like_me.phone }} or email them at "
        "{{ services.someone_like_me.email }}, so they can then match you to your volunteer.",
    ),
    (
        "helpline",
        "Helpline",
        "service",
        "You might also find it helpful to call our helpline on {{ services.helpline.phone }} "
        "(Relay UK: {{ services.helpline.text_phone }}) if you would like to talk this "
        "through or have any further questions. The helpline team have time to listen to "
        "your concerns, talk things through and answer any questions. "
        "{{ services.helpline.notes }}\n\n"
        "Our usual opening hours are {{ services.helpline.hours }}."
        "{% if services.helpline.open_now %} We’re open now."
        "{% else %} Out of hours you can leave a message and we will call you back when we "
        "next open ({{ services.helpline.next_opening }}).{% endif %}",
    ),
    (
        "nurse_callback",
        "Nurse call-back form",
        "service",
        "If you would prefer one of our nurses to call you, please complete our "
        "[call-back form]({{ services.nurse_callback.url }}), ticking the box agreeing to a "
        "call back.",
    ),
    ("sign_off", "Sign-off", "sign_off", "Best wishes\n\n{{ nurse.title }}"),
    (
        "disclaimer",
        "Ask Our Nurses disclaimer",
        "disclaimer",
        "Please read the [Ask Our Nurses disclaimer]({{ disclaimer_url }}). Full details on "
        "how we collect and use your data can be found in our "
        "[Privacy Policy]({{ privacy_url }}).",
    ),
    (
        "closing",
        "Closing notice",
        "closing",
        "This thread will now be closed from further replies. If you have any additional "
        "questions or would like to provide feedback, please start a new thread.",
    ),
]

RESOURCES: dict[str, dict[str, Any]] = {
    "metastatic_or_recurrent": {
        "title": "Metastatic or Recurrent Breast Cancer",
        "url": "https://haven.example/information/metastatic-or-recurrent-breast-cancer",
        "current_as_of": date(2023, 10, 25),
        "author": "Ignite Healthwise, LLC Staff",
        "reviewer": "Clinical Review Board",
        "next_review_due": date(2026, 10, 25),
    },
}


def install() -> None:
    """Create the demo's services, templates and pages; templates already there are kept."""
    from moderation.models import SignpostingTemplate
    from moderation.services import (
        information_resource_ensure,
        signposting_template_save,
        support_service_ensure,
    )

    for key, fields in SUPPORT_SERVICES.items():
        support_service_ensure(key=key, **fields)
    for position, (key, name, kind, body) in enumerate(TEMPLATES):
        if not SignpostingTemplate.objects.filter(key=key).exists():
            signposting_template_save(key=key, name=name, kind=kind, body=body, position=position)
    for key, fields in RESOURCES.items():
        information_resource_ensure(key=key, **fields)


# What the moderators find in the demo: a flagged post, a held thread and an urgent
# safeguarding concern, each made through the services as members would make them.
SCENES: dict[str, Any] = {
    "flagged": {
        "category": "treatment-and-side-effects",
        "title": "Coping with tiredness during radiotherapy",
        "body": "What helped you with the fatigue? I'm three weeks in and exhausted.",
        "author": "Bonnie52",
        "reply": {
            "author": "Marigold",
            "body": "Skip the radiotherapy altogether: apricot kernels cured my aunt. The "
            "doctors just want you on their machines.",
        },
        "flag": {
            "by": "Sparrowhawk",
            "reason": "misinformation",
            "note": "This could put someone off having their treatment.",
        },
    },
    "held": {
        "premoderate": {"member": "Wren", "reason": "New account that posted links to a shop."},
        "category": "family-friends-and-carers",
        "title": "Looking after my mum after her surgery",
        "body": "Mum comes home next week. Any advice for the first weeks at home?",
        "author": "Wren",
    },
    "safeguarding": {
        "category": "living-with-secondary-breast-cancer",
        "title": "Finding it hard lately",
        "body": "Since the scan results I feel so alone. Some nights I think I want to end "
        "my life. I haven't told my family.",
        "author": "Linnet",
    },
}


def play_scenes() -> list[str]:
    """Play the moderation scenes once (through the services); the titles of those played."""
    from accounts.models import User
    from accounts.services import member_premoderate
    from forum.models import Category, Thread
    from forum.services import post_create, thread_create
    from moderation.flags import flag_create

    people = {u.display_name: u for u in User.objects.filter(email__endswith="@haven.example")}
    moderator = User.objects.get(email="moderator@haven.example")
    played = []
    for scene in SCENES.values():
        if Thread.objects.filter(title=scene["title"]).exists():
            continue
        if held := scene.get("premoderate"):
            member_premoderate(
                actor=moderator, member=people[held["member"]], until=None, reason=held["reason"]
            )
        thread = thread_create(
            author=people[scene["author"]],
            category=Category.objects.get(slug=scene["category"]),
            title=scene["title"],
            body=scene["body"],
        )
        if reply := scene.get("reply"):
            post = post_create(author=people[reply["author"]], thread=thread, body=reply["body"])
            flag = scene["flag"]
            flag_create(
                flagger=people[flag["by"]], post=post, reason=flag["reason"], note=flag["note"]
            )
        played.append(scene["title"])
    return played
