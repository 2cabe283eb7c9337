from django.urls import path

from expertnet import consultations, opendata, seminars, views

app_name = "expertnet"

urlpatterns = [
    path("", views.expert_list, name="list"),
    path("opendata/", views.opendata_page, name="opendata"),
    path("export.csv", opendata.export_csv_excel, name="export_csv_excel"),
    path("export-utf8.csv", opendata.export_csv, name="export_csv"),
    path("export.json", opendata.export_json, name="export_json"),
    path("feed.atom", opendata.expert_feed, name="feed"),
    path("experts/<slug:slug>/", views.expert_detail, name="expert"),
    path("municipalities/<str:code>/", views.municipality_dispatches, name="municipality"),
    path("municipalities.json", consultations.municipality_lookup, name="municipality_lookup"),
    path("seminars/", seminars.seminar_list, name="seminars"),
    path("seminars/feed.atom", seminars.SeminarFeed(), name="seminar_feed"),
    path("seminars/calendar.ics", seminars.calendar, name="seminar_calendar"),
    path("seminars/<slug:slug>/", seminars.seminar_detail, name="seminar"),
    path("seminars/<slug:slug>/event.ics", seminars.seminar_ics, name="seminar_ics"),
    path("consultation/", consultations.request_form, name="request"),
    path("consultation/received/", consultations.request_received, name="request_received"),
]
