from django.urls import path

from casestudies import opendata, views

app_name = "casestudies"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("opendata/", views.opendata_page, name="opendata"),
    path("export.csv", opendata.export_csv_excel, name="export_csv_excel"),
    path("export-utf8.csv", opendata.export_csv, name="export_csv"),
    path("export.json", opendata.export_json, name="export_json"),
    path("feed.atom", opendata.case_feed, name="feed"),
    path("<slug:slug>/", views.case_detail, name="detail"),
]
