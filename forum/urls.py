from django.urls import path

from forum import apis

urlpatterns = [
    path("categories/", apis.CategoryListApi.as_view(), name="category-list"),
    path("threads/", apis.threads, name="thread-list"),
    path("threads/similar/", apis.ThreadSimilarApi.as_view(), name="thread-similar"),
    path("threads/<int:thread_id>/", apis.ThreadDetailApi.as_view(), name="thread-detail"),
    path("threads/<int:thread_id>/posts/", apis.thread_posts, name="thread-posts"),
    path("threads/<int:thread_id>/follow/", apis.ThreadFollowApi.as_view(), name="thread-follow"),
    path("posts/<int:post_id>/", apis.PostDetailApi.as_view(), name="post-detail"),
    path("posts/<int:post_id>/like/", apis.PostLikeApi.as_view(), name="post-like"),
    path(
        "posts/<int:post_id>/revisions/",
        apis.PostRevisionListApi.as_view(),
        name="post-revisions",
    ),
    path("notifications/", apis.NotificationListApi.as_view(), name="notification-list"),
    path("notifications/read/", apis.NotificationReadApi.as_view(), name="notification-read"),
]
