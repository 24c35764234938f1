"""The README's promises about links and commands match what the code does."""

from pathlib import Path

from django.conf import settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_route_an_email_links_to_is_documented_for_the_front_end():
    for url in settings.HEADLESS_FRONTEND_URLS.values():
        route = url.removeprefix(settings.FRONTEND_URL)
        assert f"`{route}`" in README, route
    # notification emails link to the thread (forum/outbox.py)
    assert "`/p/{id}/`" in README


def test_the_readme_cites_the_api_contract_kept_in_the_repo():
    assert "docs/API.md" in README
    assert (Path(__file__).resolve().parents[2] / "docs" / "API.md").exists()
