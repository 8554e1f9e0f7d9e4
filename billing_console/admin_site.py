"""The Django admin, opened to the `admin` role through access.py rather than is_staff."""

from functools import update_wrapper

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from billing_console.access import PUBLIC, Capability, has_capability, requires


class ConsoleAdminSite(admin.AdminSite):
    site_header = "Billing Console administration"
    site_title = "Billing Console admin"
    index_title = "Users, roles and settings"
    final_catch_all_view = False

    def has_permission(self, request):
        return has_capability(request.user, Capability.MANAGE_CONSOLE)

    def admin_view(self, view, cacheable=False):
        """Like Django's, but a signed-in user without the role gets the styled 403."""

        def inner(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not self.has_permission(request):
                raise PermissionDenied("The admin pages are for the admin role.")
            return view(request, *args, **kwargs)

        if not cacheable:
            inner = never_cache(inner)
        if not getattr(view, "csrf_exempt", False):
            inner = csrf_protect(inner)
        inner = update_wrapper(inner, view)
        inner.required_capability = Capability.MANAGE_CONSOLE
        return inner

    def login(self, request, extra_context=None):
        """The console has one sign-in page; the admin's own sends people there."""
        return redirect_to_login(request.GET.get("next") or reverse(f"{self.name}:index"))

    def get_urls(self):
        return [
            path("login/", requires(PUBLIC)(self.login), name="login")
            if getattr(pattern, "name", None) == "login"
            else pattern
            for pattern in super().get_urls()
        ]


class ConsolePermissionsMixin:
    """Model pages for the admin role, without Django's per-model permission rows."""

    def _allowed(self, request):
        return has_capability(request.user, Capability.MANAGE_CONSOLE)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request)
