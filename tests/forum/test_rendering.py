# Members type curly apostrophes (U+2019); the fixtures keep them on purpose.

import re
import time
from html.parser import HTMLParser

import pytest

from forum import rendering
from forum.rendering import ALLOWED_TAGS, render_markdown, render_plain_text

REL = 'rel="nofollow ugc noopener"'


class _Collector(HTMLParser):
    """Every start tag of an HTML fragment with its (entity-decoded) attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def parse(output: str) -> _Collector:
    collector = _Collector()
    collector.feed(output)
    collector.close()
    return collector


def assert_safe(output: str) -> None:
    assert "<script" not in output.lower()
    parsed = parse(output)
    assert parsed.comments == []
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, tag
        assert tag not in {"script", "iframe", "style", "svg", "img", "math", "object"}
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name in {"href", "title", "rel", "start"}, (tag, name)
            if name in {"href", "src"}:
                # What a browser would see: entities decoded, blanks and controls ignored.
                url = re.sub(r"[\x00-\x20]", "", value or "").lower()
                assert not url.startswith(("javascript:", "data:", "vbscript:")), url
                assert url.startswith(("http://", "https://", "mailto:")), url
        if tag == "a":
            assert attrs.get("rel") == "nofollow ugc noopener"


# Basics


def test_paragraphs_emphasis_and_line_breaks():
    assert render_markdown("Hello **there** and *you*\nsecond line\n\nNew paragraph") == (
        "<p>Hello <strong>there</strong> and <em>you</em><br>\nsecond line</p>\n"
        "<p>New paragraph</p>\n"
    )


def test_lists_keep_their_numbering():
    assert render_markdown("- one\n- two\n\n3. three\n4. four") == (
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>\n'
    )


def test_inline_code_and_code_blocks_are_escaped_text():
    output = render_markdown("Use `<b>bold</b>`\n\n```\n<script>alert(1)</script>\n```")
    assert output == (
        "<p>Use <code>&lt;b&gt;bold&lt;/b&gt;</code></p>\n"
        "<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;\n</code></pre>\n"
    )


def test_blockquote_rule_strikethrough_and_table():
    output = render_markdown("> quoted\n\n---\n\n~~gone~~\n\n| a | b |\n|--:|---|\n| 1 | 2 |")
    assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in output
    assert "<hr>" in output
    assert "<p><s>gone</s></p>" in output
    # Alignment is an inline style: dropped, the table itself stays.
    assert "<table>\n<thead>\n<tr>\n<th>a</th>" in output
    assert "<td>1</td>" in output
    assert "style" not in output


def test_raw_html_is_shown_as_text():
    assert render_markdown("I <b>love</b> <script>x</script>") == (
        "<p>I &lt;b&gt;love&lt;/b&gt; &lt;script&gt;x&lt;/script&gt;</p>\n"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("# Big", "<h3>Big</h3>\n"),
        ("## Section", "<h4>Section</h4>\n"),
        ("### Small", "<h5>Small</h5>\n"),
        ("#### Smaller", "<h6>Smaller</h6>\n"),
        ("###### Smallest", "<h6>Smallest</h6>\n"),
        ("Setext\n===", "<h3>Setext</h3>\n"),
    ],
)
def test_headings_never_outrank_the_page(body, expected):
    assert render_markdown(body) == expected


def test_empty_body():
    assert render_markdown("") == ""
    assert render_plain_text("   \n\n ") == ""


# Emoji


def test_emoji_shortcodes_in_text():
    assert render_markdown("Thank you :slight_smile: :heart: :+1: :hugs: :pray:") == (
        "<p>Thank you 🙂 ❤️ 👍 🤗 🙏</p>\n"
    )


def test_emoji_inside_emphasis_and_link_text():
    output = render_markdown("**so proud :muscle:** [see you :wave:](https://example.org/)")
    assert "<strong>so proud 💪</strong>" in output
    assert f'<a href="https://example.org/" {REL}>see you 👋</a>' in output


def test_unknown_and_partial_shortcodes_are_left_alone():
    assert render_markdown(":not_an_emoji: :smile smile: 10:30:00 a:b:heart:") == (
        "<p>:not_an_emoji: :smile smile: 10:30:00 a:b❤️</p>\n"
    )


def test_escaped_shortcode_stays_literal():
    assert render_markdown(r"\:smile:") == "<p>:smile:</p>\n"


def test_no_emoji_in_code_spans_or_blocks():
    output = render_markdown("`:smile:`\n\n    :smile: indented\n\n```\n:heart:\n```")
    assert output == (
        "<p><code>:smile:</code></p>\n"
        "<pre><code>:smile: indented\n</code></pre>\n"
        "<pre><code>:heart:\n</code></pre>\n"
    )


def test_no_emoji_in_urls():
    output = render_markdown("[ok](https://example.org/:smile:/x) <https://example.org/:heart:>")
    assert output == (
        f'<p><a href="https://example.org/:smile:/x" {REL}>ok</a> '
        f'<a href="https://example.org/:heart:" {REL}>https://example.org/:heart:</a></p>\n'
    )


# Links and images


@pytest.mark.parametrize(
    "body",
    [
        "[Macmillan](https://www.macmillan.org.uk/)",
        "<https://www.macmillan.org.uk/>",
        "[Macmillan][m]\n\n[m]: https://www.macmillan.org.uk/",
    ],
)
def test_links_are_marked_as_user_content(body):
    output = render_markdown(body)
    assert f'<a href="https://www.macmillan.org.uk/" {REL}>' in output
    assert "target" not in output


def test_link_title_and_mailto_survive():
    output = render_markdown('[help](https://example.org "Helpline") <nurse@example.org>')
    assert f'<a href="https://example.org" title="Helpline" {REL}>help</a>' in output
    assert f'<a href="mailto:nurse@example.org" {REL}>nurse@example.org</a>' in output


def test_bare_urls_are_not_linked():
    assert render_markdown("see https://example.org") == "<p>see https://example.org</p>\n"


@pytest.mark.parametrize(
    "body",
    [
        "[x](/threads/1/)",
        "[x](//evil.example/)",
        "[x](#top)",
        "[x](ftp://example.org/)",
        "[x](file:///etc/passwd)",
        "[x](tel:+441234)",
        "<ftp://example.org/>",
    ],
)
def test_only_absolute_http_https_mailto_links(body):
    output = render_markdown(body)
    assert "<a" not in output
    assert "x" in output  # what the member typed is still visible


def test_image_becomes_a_link_to_it_and_loads_nothing():
    output = render_markdown('![my scan :smile:](https://example.org/scan.png "Scan")')
    assert output == (
        f'<p><a href="https://example.org/scan.png" title="Scan" {REL}>my scan 😄</a></p>\n'
    )


def test_image_without_alt_text_shows_its_url():
    assert render_markdown("![](https://t.example/pixel.gif)") == (
        f'<p><a href="https://t.example/pixel.gif" {REL}>https://t.example/pixel.gif</a></p>\n'
    )


def test_image_inside_a_link_becomes_its_alt_text():
    assert render_markdown("[![badge](https://t.example/b.png)](https://example.org)") == (
        f'<p><a href="https://example.org" {REL}>badge</a></p>\n'
    )


# XSS

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<sCrIpT>alert(1)</ScRiPt>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)"/>',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "<a href='javascript:alert(1)'>x</a>",
    '<a href="javas&#99;ript:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1)  )",
    "[x](<java script:alert(1)>)",
    "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](\\javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "![x](javascript:alert(1))",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    '![x" onerror="alert(1)](https://evil.example/x.png)',
    '![x](https://evil.example/x.png"onerror="alert(1))',
    '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
    "[x](https://ok.example 'a\" onmouseover=\"alert(1)')",
    '[ref]\n\n[ref]: https://ok.example "\\" onclick=\\"alert(1)"',
    '[x](https://ok.example/"onmouseover="alert(1))',
    '<https://ok.example/"onmouseover="alert(1)>',
    "<!-- <script>alert(1)</script> -->",
    "<!--><img src=x onerror=alert(1)>-->",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">click</math>',
    '<object data="javascript:alert(1)"></object>',
    "<embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><input type=submit>",
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:/">',
    '<table><td background="javascript:alert(1)">x</td></table>',
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_is_neutralised(payload):
    assert_safe(render_markdown(payload))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_nh3_is_the_safety_net_if_raw_html_were_enabled(payload, monkeypatch):
    """Even with markdown-it passing raw HTML through, nothing dangerous reaches the page."""
    monkeypatch.setitem(rendering._md.options, "html", True)
    assert_safe(render_markdown(payload))


def test_safety_net_really_sees_raw_html(monkeypatch):
    monkeypatch.setitem(rendering._md.options, "html", True)
    assert render_markdown('<b onclick="x()">hi</b><img src=x>') == "<p>hi</p>\n"


def test_xss_as_text_stays_visible():
    """A member quoting an attack sees their words; nothing is silently lost."""
    assert render_markdown("[x](javascript:alert(1))") == "<p>[x](javascript:alert(1))</p>\n"


# Text as members write it

REFERENCE_STYLE = (
    "Hello there,\n"
    "I was initially diagnosed with cancer in 2021 which post surgery was diagnosed as "
    "triple positive, grade 3 oestrogen 8, progesterone 3 and HER2 2:11.\n"
    "Post lumpectomy and re-excised margins, sentinel nodes clear, I had 3x EC, "
    "3x docetaxol ( 2 with herceptin, no room in clinic for me to have all 3 with "
    "docetaxol), 5 whole breast radiotherapy sessions ,a year of herceptin.\n"
    "Although I could feel 2 small lumps, they didn’t show on mammogram or MRI scan. "
    "The tumour is now grade 3 , oestrogen 8, negative to progesterone and HER2 2:54\n"
    "\n"
    "\n"
    "Hello, I’ve just read your message & have every sympathy for your situation.\n"
    "There didn’t seem to be much. I was first diagnosed in 2018 (there were none - hooray)."
)


def test_reference_thread_style_renders_sensibly():
    output = render_markdown(REFERENCE_STYLE)
    assert output.startswith("<p>Hello there,<br>\nI was initially diagnosed")
    assert output.count("<p>") == 2
    assert output.count("<br>") == 4
    assert "HER2 2:11.<br>" in output
    assert "HER2 2:54</p>" in output
    assert "they didn’t show" in output  # typed apostrophes kept, not entities
    assert "I’ve just read your message &amp; have" in output
    assert "(there were none - hooray)" in output  # no typographer dashes
    assert_safe(output)


def test_reference_thread_style_as_plain_text():
    text = render_plain_text(REFERENCE_STYLE)
    assert text.startswith("Hello there,\nI was initially diagnosed")
    assert "HER2 2:54\n\nHello, I’ve just read your message & have" in text
    assert "<" not in text


def test_plain_text_drops_markup_and_unescapes():
    body = "# Update\n\nScan was **clear** :tada: & [see](https://example.org)\n\n- a\n- b"
    assert render_plain_text(body) == "Update\n\nScan was clear 🎉 & see\n\na\nb"


def test_plain_text_of_raw_html_is_its_words():
    assert render_plain_text("  Hi <b>you</b>  ") == "Hi <b>you</b>"


def test_long_body_renders():
    paragraph = "Thinking of you all :heart: — it didn’t feel real at first.\nHER2 2:11\n\n"
    body = (paragraph * (20_000 // len(paragraph) + 1))[:20_000]
    assert len(body) == 20_000
    start = time.perf_counter()
    output = render_markdown(body)
    elapsed = time.perf_counter() - start
    assert output.count("<p>") > 250
    assert "❤️" in output
    assert elapsed < 2  # generous: it takes a few hundredths of a second
    assert len(render_plain_text(body)) > 15_000


@pytest.mark.parametrize(
    "body",
    ["[" * 20_000, "![" * 10_000, "*a **b " * 2_800, "> " * 10_000, "<" * 20_000, "`" * 20_000],
)
def test_pathological_long_bodies_render(body):
    assert_safe(render_markdown(body))
