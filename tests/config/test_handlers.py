from django.test import RequestFactory

from config.urls import handler404, handler500


def test_an_unexpected_api_failure_answers_json_500_without_details():
    response = handler500(RequestFactory().get("/api/v1/categories/"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.content == (
        b'{"code": "server_error", "detail": "Something went wrong on our side.", "fields": {}}'
    )


def test_pages_outside_the_api_get_branded_error_pages():
    request = RequestFactory().get("/no-such-page/")
    assert handler404(request, Exception()).status_code == 404
    assert handler404(request, Exception())["Content-Type"].startswith("text/html")
    assert b'<html lang="en-GB">' in handler404(request, Exception()).content
