"""Django's admin, for superusers only (`access.SUPERUSER`), signed in with a second factor:
raw rows, for fixing data by hand. The admin role manages the console in its own pages,
under /manage/."""

from functools import update_wrapper

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from billing_console.access import (
    SUPERUSER,
    allows,
    lacks_second_factor,
    refuse_for_second_factor,
)


class ConsoleAdminSite(admin.AdminSite):
    site_header = "Billing Console administration"
    site_title = "Billing Console admin"
    index_title = "Users, roles and settings"
    final_catch_all_view = False

    def has_permission(self, request):
        return (allows(request.user, SUPERUSER)
                and not lacks_second_factor(request.user, SUPERUSER))

    def admin_view(self, view, cacheable=False):
        """Like Django's, but a signed-in user who is no superuser gets the styled 403."""

        def inner(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if lacks_second_factor(request.user, SUPERUSER):
                return refuse_for_second_factor(request)
            if not self.has_permission(request):
                raise PermissionDenied("Django's admin is for superusers only.")
            return view(request, *args, **kwargs)

        if not cacheable:
            inner = never_cache(inner)
        if not getattr(view, "csrf_exempt", False):
            inner = csrf_protect(inner)
        inner = update_wrapper(inner, view)
        inner.required_capability = SUPERUSER
        return inner

    def get_urls(self):
        # The console has one sign-in page (admin_view sends visitors there), so the
        # admin's own login route is left out.
        urls = [pattern for pattern in super().get_urls()
                if getattr(pattern, "name", None) != "login"]
        _declare_admin_views(urls)
        return urls


def _declare_admin_views(patterns):
    """Mark each view that Django's admin routes through `admin_view` (its `wrap` helpers
    tag them with `admin_site` or `model_admin`) as for superusers, so the route-walk test
    can check them like every other view."""
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            _declare_admin_views(pattern.url_patterns)
            continue
        callback = pattern.callback
        if hasattr(callback, "admin_site") or hasattr(callback, "model_admin"):
            callback.required_capability = SUPERUSER


class ConsolePermissionsMixin:
    """Model pages for superusers, without Django's per-model permission rows."""

    # The model pages this admin offers. One that refuses adding drops "add", and so on,
    # so that no route exists only to answer 403.
    offered_views = ("changelist", "add", "history", "delete", "change")

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}_"
        offered = {prefix + view for view in self.offered_views}
        return [pattern for pattern in super().get_urls()
                if pattern.name is None or pattern.name in offered]

    def _allowed(self, request):
        return allows(request.user, SUPERUSER)

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
