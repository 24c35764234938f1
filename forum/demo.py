"""The demo community: what ``seed_demo`` creates. Copied here so the project stands alone."""

import json
from pathlib import Path
from typing import TypedDict

from accounts.roles import Role


class DemoCategory(TypedDict):
    slug: str
    name: str
    description: str
    nurse_answered: bool


class DemoAccount(TypedDict):
    email: str
    display_name: str
    role: Role
    staff: bool  # signs in to the admin (the nurse answers there, the README says)
    superuser: bool
    sign_off: str


CATEGORIES: list[DemoCategory] = [
    {
        "slug": "ask-our-nurses",
        "name": "Ask Our Nurses",
        "description": (
            "Ask our Breast Care Nurses a question: they aim to answer within two working "
            "days. This is not an emergency service: if you are unwell, contact your "
            "treatment team, call NHS 111 or, in an emergency, 999."
        ),
        "nurse_answered": True,
    },
    {
        "slug": "living-with-secondary-breast-cancer",
        "name": "Living with secondary breast cancer",
        "description": "For anyone living with secondary (metastatic) breast cancer.",
        "nurse_answered": False,
    },
    {
        "slug": "recurrence",
        "name": "Recurrence",
        "description": "When breast cancer comes back in the breast, chest wall or nearby.",
        "nurse_answered": False,
    },
    {
        "slug": "treatment-and-side-effects",
        "name": "Treatment and side effects",
        "description": "Surgery, chemotherapy, radiotherapy, targeted and hormone therapy.",
        "nurse_answered": False,
    },
    {
        "slug": "family-friends-and-carers",
        "name": "Family, friends and carers",
        "description": "For the people supporting someone with breast cancer.",
        "nurse_answered": False,
    },
]

ACCOUNTS: list[DemoAccount] = [
    {
        "email": "sparrowhawk@haven.example",
        "display_name": "Sparrowhawk",
        "role": Role.MEMBER,
        "staff": False,
        "superuser": False,
        "sign_off": "",
    },
    {
        "email": "bonnie52@haven.example",
        "display_name": "Bonnie52",
        "role": Role.MEMBER,
        "staff": False,
        "superuser": False,
        "sign_off": "",
    },
    {
        "email": "nurse@haven.example",
        "display_name": "Care Team 1",
        "role": Role.NURSE,
        "staff": True,
        "superuser": False,
        "sign_off": "Best wishes,\nBreast Care Nurse",
    },
    {
        "email": "moderator@haven.example",
        "display_name": "Community Team 1",
        "role": Role.MODERATOR,
        "staff": True,
        "superuser": False,
        "sign_off": "",
    },
    # Members of the moderation scenes (moderation/demo.py).
    *(
        DemoAccount(
            email=f"{name.lower()}@haven.example",
            display_name=name,
            role=Role.MEMBER,
            staff=False,
            superuser=False,
            sign_off="",
        )
        for name in ("Marigold", "Wren", "Linnet")
    ),
    {
        "email": "admin@haven.example",
        "display_name": "Site Admin",
        "role": Role.MEMBER,
        "staff": True,
        "superuser": True,
        "sign_off": "",
    },
]


class DemoPost(TypedDict, total=False):
    author: str
    body: str
    liked_by: list[str]


class DemoNurseAnswer(TypedDict):
    body: str
    signposts: list[str]
    close: bool


class DemoThread(TypedDict):
    source: str
    category: str
    title: str
    posts: list[DemoPost]
    nurse_answer: DemoNurseAnswer


# The reference scenario: Sparrowhawk asks in Ask Our Nurses, Bonnie52 answers from her own
# experience and gets a like, and they exchange follow-ups.
REFERENCE_THREAD: DemoThread = json.loads(
    (Path(__file__).parent / "demo_data" / "reference_thread.json").read_text(encoding="utf-8")
)
