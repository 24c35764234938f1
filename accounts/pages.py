"""A member's own pages beside allauth's: settings (display name, reply emails), export
of her data, erasure of her account. On the same services as the API.

Built in step 6; until then each answers 404.
"""

from django.http import Http404, HttpRequest, HttpResponse


def _not_yet(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404("Not built yet.")


settings_page = export = erase = _not_yet
