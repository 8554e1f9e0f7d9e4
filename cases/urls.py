from django.urls import path

from cases.views import queue

app_name = "cases"
urlpatterns = [
    path("", queue.queue, name="queue"),
]
