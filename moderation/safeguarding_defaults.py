"""What Haven starts with for safeguarding, created once by a migration; then the admins'.

Constants only (migrations import them). Safeguarding words make an urgent review item and
show crisis signposting; they do not hide the post. The list is deliberately narrow: it
names intent ("kill myself"), not the vocabulary of cancer ("terminal", "dying", "end of
life", "palliative", "morphine" are everyday words here and are never watched).
Sensitive phrases are about method detail (Samaritans' guidelines: none left visible):
such posts are shown behind a content warning.
"""

# (word, match, action)
DEFAULT_WATCHED_WORDS: tuple[tuple[str, str, str], ...] = (
    ("suicide", "word", "safeguarding"),
    ("suicidal", "word", "safeguarding"),
    ("kill myself", "phrase", "safeguarding"),
    ("killing myself", "phrase", "safeguarding"),
    ("end my life", "phrase", "safeguarding"),
    ("ending my life", "phrase", "safeguarding"),
    ("take my own life", "phrase", "safeguarding"),
    ("taking my own life", "phrase", "safeguarding"),
    ("self harm", "phrase", "safeguarding"),
    ("self harming", "phrase", "safeguarding"),
    ("self-harm", "word", "safeguarding"),
    ("self-harming", "word", "safeguarding"),
    ("hurt myself", "phrase", "safeguarding"),
    ("harm myself", "phrase", "safeguarding"),
    ("overdose", "word", "safeguarding"),
    ("want to die", "phrase", "safeguarding"),
    ("wish I was dead", "phrase", "safeguarding"),
    ("no reason to live", "phrase", "safeguarding"),
    ("better off dead", "phrase", "safeguarding"),
    ("better off without me", "phrase", "safeguarding"),
    ("lethal dose", "phrase", "sensitive"),
    ("fatal dose", "phrase", "sensitive"),
    ("how to overdose", "phrase", "sensitive"),
)

SAMARITANS = {
    "name": "Samaritans",
    "description": "Someone to talk to, any time, about whatever you are going through.",
    "phone": "116 123",
    "email": "jo@samaritans.org",
    "url": "https://www.samaritans.org/",
    "notes": "Free from any phone, 24 hours a day, every day.",
    "hours": {
        "time_zone": "Europe/London",
        "weekly": {
            day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        },
        "closures": [],
    },
}

MODERATION_TEAM = {
    "name": "Moderation team",
    "description": "When Haven's moderators are at work (outside these hours urgent alerts "
    "also go to the on-call address).",
    "hours": {
        "time_zone": "Europe/London",
        "weekly": {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        "closures": [],
    },
}

CRISIS_TEMPLATE = {"key": "crisis", "name": "Crisis signposting", "kind": "crisis"}
CRISIS_BODY = (
    "**If you are thinking about ending your life, or you might harm yourself, please "
    "talk to someone now. You don't have to face this alone.**\n\n"
    "- **{{ services.samaritans.name }}**: call {{ services.samaritans.phone }}. "
    "{{ services.samaritans.notes }}\n"
    "- **In an emergency**, or if you have already harmed yourself, call **999** or go to "
    "A&E.\n"
    "{% if services.helpline.phone %}"
    "- **Our helpline**: {{ services.helpline.phone }} (Relay UK: "
    "{{ services.helpline.text_phone }}), {{ services.helpline.hours }}. "
    "{% if services.helpline.open_now %}We're open now."
    "{% else %}We're closed now and open again {{ services.helpline.next_opening }}."
    "{% endif %}\n"
    "{% endif %}"
    "\nHaven is not watched around the clock, so please don't wait for a reply here."
)
