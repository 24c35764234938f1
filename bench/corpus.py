"""Deterministic forum-like text for the benchmark: post bodies, thread titles, the ceiling.

Bodies are Markdown the way members write it (paragraphs, one line per thought, the odd
list, bold word, emoji shortcode or link), 150 to 3,000 characters, about 1.2 KB on
average like the reference thread in ``forum/demo_data``. The seeder and the ceiling page
draw from the same generator, so the ceiling's page weighs what a real posts page does.
"""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

SEED = 2026

SENTENCES = [
    "I was diagnosed with grade 2 ER positive breast cancer in the spring.",
    "My oncologist has suggested letrozole for five years after radiotherapy.",
    "The fatigue after each cycle of chemotherapy was worse than I expected.",
    "Has anyone else had aching joints on anastrozole, and did it settle down?",
    "I have my first scan results next Tuesday and I cannot stop thinking about it.",
    "Sending you a big hug, you are not on your own in this.",
    "The breast care nurses at my hospital were wonderful when I phoned them.",
    "I found it helped to write my questions down before each appointment.",
    "My husband keeps telling me to stay positive but some days I just can't.",
    "Radiotherapy was fifteen sessions for me and the skin reaction came at the end.",
    "Cold capping worked for me, I kept most of my hair through paclitaxel.",
    "The scanxiety is real, the waiting is always the hardest part.",
    "I was told the recurrence is in the chest wall and not elsewhere, which was a relief.",
    "Please ring your treatment team if your temperature goes above 37.5.",
    "Walking every morning has made a real difference to my energy.",
    "I started Herceptin injections every three weeks and they have been manageable.",
    "My daughter has been coming with me to every appointment, which helps.",
    "I had a lumpectomy and sentinel node biopsy last month and I am healing well.",
    "Some days the tiredness just hits you like a wall and you have to rest.",
    "I am four years out from treatment now and doing well, so there is hope.",
    "The hot flushes on tamoxifen are driving me mad, especially at night.",
    "It took me weeks to feel ready to talk to my friends about it.",
    "My consultant explained that the tumour was HER2 positive and small.",
    "I keep a notebook of side effects so I can tell the team what changed.",
    "Don't be afraid to ask for the nurse specialist, that is what they are there for.",
    "The lymphoedema clinic fitted me for a sleeve and it has helped a lot.",
    "I joined a local support group and it was good to meet people face to face.",
    "Work have been understanding and let me come back on reduced hours.",
    "The steroids kept me awake for two nights after every treatment.",
    "Mouth ulcers were the worst side effect for me, the mouthwash helped.",
    "I asked about the Oncotype test and my score was low, so no chemotherapy.",
    "My mum went through this too, years ago, and treatments have changed so much.",
    "Thinking of you today and hoping the results are kind.",
    "I am on palbociclib now and the blood counts are checked every month.",
    "The bone scan was clear, the liver lesion is being watched.",
    "Take one day at a time, that is what got me through the first year.",
    "I cried in the car park after the appointment and that is fine.",
    "The wig shop was friendlier than I feared and I came out smiling.",
    "I still get tired in the afternoons but it is slowly getting better.",
    "My reconstruction is booked for next spring, two years after surgery.",
    "Does anyone have tips for sleeping after a mastectomy?",
    "The hospital gave me a leaflet but I had so many questions afterwards.",
    "I found Maggie's centre a calm place to sit before treatment.",
    "It is completely normal to feel anxious as your check-ups come round.",
    "My neuropathy in the fingers has improved since they reduced the dose.",
    "I would ask the team about a referral to the menopause clinic.",
    "Little things help, a blanket, a flask of tea and a good book for chemo days.",
    "My friends organised a meal rota and I cannot tell you how much it helped.",
    "I was nervous before the port was fitted but it was quick.",
    "We are all here for you, come back and let us know how it went.",
]

TITLE_PARTS = (
    ["Joint pain on", "Waiting for results after", "Tired all the time on", "Questions about",
     "Just diagnosed, starting", "Coming back to work after", "Hair loss and", "Sleep problems on",
     "Recurrence after", "Scan next week after", "Feeling low after", "Tips for"],
    ["letrozole", "anastrozole", "tamoxifen", "radiotherapy", "paclitaxel", "Herceptin",
     "palbociclib", "a lumpectomy", "a mastectomy", "reconstruction", "chemotherapy",
     "the first cycle", "cold capping", "the bone scan", "hormone therapy"],
)  # fmt: skip

EMOJI = [":hugs:", ":heart:", ":pray:", ":crossed_fingers:", ":sunflower:", ":blue_heart:"]
LINKS = [
    "<https://www.nhs.uk/conditions/breast-cancer/>",
    "[the Macmillan guide](https://www.macmillan.org.uk/cancer-information-and-support)",
    "<https://www.breastcancernow.org/>",
]


def _paragraph(rng: random.Random) -> str:
    sentences = rng.sample(SENTENCES, rng.randint(3, 6))
    if rng.random() < 0.15:
        i = rng.randrange(len(sentences))
        words = sentences[i].split()
        j = rng.randrange(len(words))
        words[j] = f"**{words[j]}**"
        sentences[i] = " ".join(words)
    # Members write one thought a line as often as flowing prose (rendered with breaks).
    joiner = "\n" if rng.random() < 0.3 else " "
    return joiner.join(sentences)


def make_body(rng: random.Random) -> str:
    """One post body: 1 to 7 paragraphs, sometimes a list, an emoji or a link."""
    count = rng.choices([1, 2, 3, 4, 5, 6, 7], weights=[10, 18, 22, 20, 15, 10, 5])[0]
    blocks = [_paragraph(rng) for _ in range(count)]
    if rng.random() < 0.12:
        items = rng.sample(SENTENCES, rng.randint(2, 4))
        blocks.insert(rng.randrange(len(blocks) + 1), "\n".join(f"- {item}" for item in items))
    if rng.random() < 0.25:
        blocks[-1] += " " + rng.choice(EMOJI)
    if rng.random() < 0.08:
        blocks.append(f"This helped me: {rng.choice(LINKS)}")
    return "\n\n".join(blocks)[:3000]


def body_pool(count: int, seed: int = SEED) -> list[str]:
    rng = random.Random(seed)
    return [make_body(rng) for _ in range(count)]


def make_title(rng: random.Random) -> str:
    first, second = TITLE_PARTS
    title = f"{rng.choice(first)} {rng.choice(second)}"
    return title + rng.choice(["", "?", " - any advice?", " (long post, sorry)"])


def ceiling_page(
    *, base_url: str = "http://127.0.0.1:8765", page_size: int = 20, seed: int = SEED
) -> dict[str, Any]:
    """A posts page with the shape of ``GET /api/v1/threads/{id}/posts/``, built once.

    Same fields, same kinds of values, bodies from the seeder's generator (rendered with the
    app's own Markdown renderer), so its JSON weighs what a real page does.
    """
    from forum.rendering import render_markdown

    rng = random.Random(seed)
    start = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    results = []
    for i in range(page_size):
        body = make_body(rng)
        created = start + timedelta(hours=3 * i, microseconds=rng.randrange(1_000_000))
        results.append(
            {
                "id": 41_000 + i,
                "thread": 1_234,
                "author": {
                    "id": rng.randrange(1, 200),
                    "display_name": f"Member{rng.randrange(1000):03d}",
                    "role": "member",
                    "title": None,
                },
                "kind": "post",
                "body": body,
                "body_html": render_markdown(body),
                "like_count": rng.choice([0, 0, 0, 1, 2, 5]),
                "liked_by_me": False,
                "created_at": created.isoformat().replace("+00:00", "Z"),
                "edited_at": None,
                "status": "visible",
            }
        )
    cursor = "cD0yMDI1LTAzLTAzKzE1JTNBMzAlM0EwMC40NTYxMjMlMkIwMCUzQTAw"
    return {
        "next": f"{base_url}/api/v1/threads/1234/posts/?cursor={cursor}",
        "previous": None,
        "results": results,
    }
