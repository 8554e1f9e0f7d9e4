from django.urls import path

from credit_memos import views

app_name = "credit_memos"
urlpatterns = [
    path("credit-memo/<int:case_pk>/<slug:target_id>/", views.credit_memo_new,
         name="credit-memo"),
    path("credit-memo/<int:case_pk>/<slug:target_id>/void/", views.credit_memo_void,
         name="credit-memo-void"),
    path("invoice/<int:case_pk>/<slug:target_id>/<slug:slug>/", views.invoice_adjustment,
         name="invoice"),
    path("balance/<int:case_pk>/<slug:target_id>/", views.balance_adjustment, name="balance"),
    path("subscription/<int:case_pk>/<slug:target_id>/<slug:slug>/",
         views.subscription_change, name="subscription"),
]
