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
    path("posts/<int:post_id>/flags/", apis.PostFlagApi.as_view(), name="post-flags"),
    path("posts/<int:post_id>/hide/", apis.PostHideApi.as_view(), name="post-hide"),
    path("posts/<int:post_id>/restore/", apis.PostRestoreApi.as_view(), name="post-restore"),
    path("threads/<int:thread_id>/move/", apis.ThreadMoveApi.as_view(), name="thread-move"),
    path("moderation/queue/", apis.ReviewQueueApi.as_view(), name="review-queue"),
    path(
        "moderation/queue/<int:item_id>/claim/",
        apis.ReviewClaimApi.as_view(),
        name="review-claim",
    ),
    path(
        "moderation/queue/<int:item_id>/resolve/",
        apis.ReviewResolveApi.as_view(),
        name="review-resolve",
    ),
    path(
        "moderation/members/<int:member_id>/suspend/",
        apis.MemberSuspendApi.as_view(),
        name="member-suspend",
    ),
    path(
        "moderation/members/<int:member_id>/unsuspend/",
        apis.MemberUnsuspendApi.as_view(),
        name="member-unsuspend",
    ),
    path(
        "moderation/members/<int:member_id>/premoderate/",
        apis.MemberPremoderateApi.as_view(),
        name="member-premoderate",
    ),
    path(
        "moderation/members/<int:member_id>/release/",
        apis.MemberReleaseApi.as_view(),
        name="member-release",
    ),
]
