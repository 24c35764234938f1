from django.urls import path

from accounts.apis import MeApi, MeExportApi, MemberMuteApi, MyMutesApi

urlpatterns = [
    path("me/", MeApi.as_view(), name="me"),
    path("me/export/", MeExportApi.as_view(), name="me-export"),
    path("me/mutes/", MyMutesApi.as_view(), name="my-mutes"),
    path("members/<int:member_id>/mute/", MemberMuteApi.as_view(), name="member-mute"),
]
