"""Pages for reporting a post and for the staff: a nurse's answer (signposts, preview),
closing and reopening, hiding and restoring, the review queue and the nurses' questions.
On the same services as the API.

Built in step 6; until then each answers 404.
"""

from django.http import Http404, HttpRequest, HttpResponse


def _not_yet(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404("Not built yet.")


report = queue = item = questions = answer = close = reopen = hide = restore = _not_yet
