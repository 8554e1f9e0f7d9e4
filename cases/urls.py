from django.urls import path

from cases.views import case, queue

app_name = "cases"
urlpatterns = [
    path("", queue.queue, name="queue"),
    path("<int:pk>/", case.case_page, name="case"),
    path("<int:pk>/summary/", case.case_summary, name="summary"),
    path("find/", case.find_case, name="find"),
    path("<int:pk>/stripe/", case.stripe_panel, name="stripe"),
    path("<int:pk>/stripe/customer/", case.confirm_stripe_customer, name="confirm-stripe"),
    path("<int:pk>/state/", case.transition, name="transition"),
    path("<int:pk>/assignee/", case.assign, name="assign-case"),
    path("<int:pk>/category/", case.set_category, name="category"),
    path("<int:pk>/priority/", case.set_priority, name="priority"),
    path("<int:pk>/notes/", case.add_note, name="note"),
    path("<int:pk>/resolve/", case.resolve, name="resolve"),
    path("rows/", queue.queue_rows, name="rows"),
    path("health/", queue.health, name="health"),
    path("assign/", queue.assign, name="assign"),
]
