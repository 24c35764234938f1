from django.urls import path

from forum.apis import CategoryListApi

urlpatterns = [
    path("categories/", CategoryListApi.as_view(), name="category-list"),
]
