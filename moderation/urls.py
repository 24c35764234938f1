from django.urls import path

from moderation import apis

urlpatterns = [
    path("signposts/", apis.SignpostListApi.as_view(), name="signpost-list"),
    path("nurse/queue/", apis.NurseQueueApi.as_view(), name="nurse-queue"),
    path(
        "threads/<int:thread_id>/nurse-answer/", apis.NurseAnswerApi.as_view(), name="nurse-answer"
    ),
    path(
        "threads/<int:thread_id>/nurse-answer/preview/",
        apis.NurseAnswerPreviewApi.as_view(),
        name="nurse-answer-preview",
    ),
    path(
        "posts/<int:post_id>/correction/",
        apis.NurseAnswerCorrectionApi.as_view(),
        name="nurse-answer-correction",
    ),
    path("threads/<int:thread_id>/close/", apis.ThreadCloseApi.as_view(), name="thread-close"),
    path("threads/<int:thread_id>/reopen/", apis.ThreadReopenApi.as_view(), name="thread-reopen"),
]
