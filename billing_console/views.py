"""Pages that belong to no app: the role-based home, sign-in, health and error pages."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from billing_console.access import PUBLIC, SIGNED_IN, home_url_name, may_open, requires
from billing_console.exceptions import PageNotFound
from billing_console.forms import SignInForm
from billing_console.health import readiness
from billing_console.signals import access_denied


@requires(SIGNED_IN)
def home(request):
    url_name = home_url_name(request.user)
    if url_name is None:
        return render(request, "console/no_role.html")
    return redirect(url_name)


login = requires(PUBLIC)(
    auth_views.LoginView.as_view(
        authentication_form=SignInForm,
        redirect_authenticated_user=True,
        extra_context={"failure_limit": settings.AXES_FAILURE_LIMIT},
    )
)
class SignOutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have signed out.")
        return response


logout = requires(PUBLIC)(SignOutView.as_view())


@requires(PUBLIC)
@require_GET
@never_cache
def healthz(request):
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


@requires(PUBLIC)
@require_GET
@never_cache
def readyz(request):
    """The process can do its work: the database and the broker answer."""
    checks = readiness()
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", **checks},
                        status=200 if ready else 503)


def _wants_json(request):
    return request.path.startswith("/api/")


def permission_denied(request, exception):
    """The 403, which says where to turn next: an admin to the Admin section, where roles
    are set and everything an admin manages is; anyone else to an admin."""
    reason = str(exception) or "You do not have permission to open this page."
    if request.user.is_authenticated:
        access_denied.send(sender=permission_denied, request=request, reason=reason)
    if _wants_json(request):
        return JsonResponse({"message": reason, "code": "permission_denied"}, status=403)
    admin_url = reverse("administration:index")
    return render(request, "403.html", {
        "reason": reason,
        "admin_url": admin_url if may_open(request.user, admin_url) else None}, status=403)


def page_not_found(request, exception):
    """The console's 404, with the navigation; `PageNotFound`'s words say what is missing."""
    if _wants_json(request):
        return JsonResponse({"message": "Not found.", "code": "not_found"}, status=404)
    reason = str(exception) if isinstance(exception, PageNotFound) else None
    return render(request, "404.html", {"reason": reason}, status=404)


def server_error(request):
    if _wants_json(request):
        return JsonResponse(
            {"message": "Something went wrong on our side; it has been logged. Try again.",
             "code": "server_error"},
            status=500,
        )
    # Rendered without the request, so no context processor runs: one may be what failed.
    return HttpResponseServerError(loader.get_template("500.html").render())


def bad_request(request, exception):
    if _wants_json(request):
        return JsonResponse({"message": "Bad request.", "code": "bad_request"}, status=400)
    return render(request, "400.html", status=400)


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", status=403)
