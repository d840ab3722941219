from django.urls import path

from routing import views

app_name = "routing"
urlpatterns = [
    path("", views.route_list, name="list"),
    path("new/", views.route_new, name="new"),
    path("compare/", views.compare, name="compare"),
    path("what-if/", views.whatif, name="whatif"),
    path("<path:name>/edit/", views.route_edit, name="edit"),
    path("<path:name>/delete/", views.route_remove, name="delete"),
    path("<path:name>/", views.route_detail, name="detail"),
]
