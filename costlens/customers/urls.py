from django.urls import path

from costlens.customers import views

app_name = "customers"
urlpatterns = [
    path("customers/", views.customer_list, name="list"),
    path("customers/export.csv", views.customer_list_csv, name="list-csv"),
    path("customers/import/", views.import_page, name="import"),
    path("customers/<path:customer_id>/", views.customer_page, name="detail"),
    path("margin/", views.margin_page, name="margin"),
]
