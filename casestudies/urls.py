from django.urls import path

from casestudies import views

app_name = "casestudies"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("<slug:slug>/", views.case_detail, name="detail"),
]
