from django.urls import path

from administration import views

app_name = "administration"
urlpatterns = [
    path("", views.index, name="index"),
    path("policy/", views.policy, name="policy"),
    path("policy/rules/", views.policy_rules, name="policy-rules"),
    path("policy/currencies/", views.currency_add, name="currency-add"),
    path("policy/currencies/<str:currency>/", views.currency_limit, name="currency-limit"),
    path("policy/role-limits/", views.role_limit, name="role-limit"),
    path("policy/reasons/", views.reason_add, name="reason-add"),
    path("policy/reasons/<int:pk>/", views.reason_change, name="reason-change"),
    path("users/", views.users, name="users"),
    path("users/add/", views.user_add, name="user-add"),
    path("users/<int:pk>/", views.user, name="user"),
    path("users/<int:pk>/password/", views.user_password, name="user-password"),
    path("users/<int:pk>/unlock/", views.user_unlock, name="user-unlock"),
    path("intake/", views.intake, name="intake"),
    path("intake/rule/", views.intake_rule, name="intake-rule"),
    path("intake/sla/", views.sla_targets, name="sla-targets"),
    path("replies/", views.replies, name="replies"),
    path("replies/add/", views.reply_add, name="reply-add"),
    path("replies/<int:pk>/", views.reply_change, name="reply-change"),
    path("integrations/", views.integrations, name="integrations"),
]
