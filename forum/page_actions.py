"""Members' writing pages: new thread (with "asked before?" suggestions), reply, edit,
like, follow, notifications and search. On the same services as the API.

Built in step 6; until then each answers 404.
"""

from django.http import Http404, HttpRequest, HttpResponse


def _not_yet(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404("Not built yet.")


thread_new = suggest = reply = post_permalink = post_edit = like = follow = _not_yet
notifications = search = _not_yet
