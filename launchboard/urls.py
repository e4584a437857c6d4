from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from checklists.web import actions, api, meeting, newlaunch, trust, views
from launchboard import health

urlpatterns = [
    path("", views.launch_list, name="launch-list"),
    # before the launch pages: "new" is not a launch's slug
    path("launches/new/", newlaunch.launch_new, name="launch-new"),
    path("launches/<slug:slug>/", views.launch_status, name="launch-status"),
    path("launches/<slug:slug>/tasks/<slug:key>/move/", actions.task_move_view, name="task-move"),
    path(
        "launches/<slug:slug>/criteria/<slug:key>/tick/",
        actions.criterion_tick_view,
        name="criterion-tick",
    ),
    path("launches/<slug:slug>/history/", views.launch_history, name="launch-history"),
    path("launches/<slug:slug>/rollout/start/", actions.rollout_start_view, name="rollout-start"),
    path(
        "launches/<slug:slug>/rollout/advance/",
        actions.rollout_advance_view,
        name="rollout-advance",
    ),
    path("launches/<slug:slug>/rollout/end/", actions.rollout_end_view, name="rollout-end"),
    path("launches/<slug:slug>/meeting/", meeting.meeting_view, name="meeting"),
    path(
        "launches/<slug:slug>/decisions/<int:record_id>/",
        meeting.decision_view,
        name="decision",
    ),
    path("launches/<slug:slug>/runs/upload/", actions.upload_view, name="run-upload"),
    path("launches/<slug:slug>/runs/<int:run_id>/", views.run_page, name="run-page"),
    path(
        "launches/<slug:slug>/runs/<int:run_id>/invalidate/",
        actions.run_invalidate_view,
        name="run-invalidate",
    ),
    path("launches/<slug:slug>/runs/<int:run_id>/pin/", actions.run_pin_view, name="run-pin"),
    path("launches/<slug:slug>/runs/<int:run_id>/test/", actions.run_test_view, name="run-test"),
    path("launches/<slug:slug>/signoff/<slug:role>/", trust.signoff_view, name="signoff"),
    path("launches/<slug:slug>/criteria/<slug:key>/waive/", trust.waiver_view, name="waive"),
    path(
        "launches/<slug:slug>/waivers/<int:waiver_id>/revoke/",
        trust.waiver_revoke_view,
        name="waiver-revoke",
    ),
    path("launches/<slug:slug>/members/", trust.members_view, name="launch-members"),
    path("launches/<slug:slug>/share/", trust.share_view, name="launch-share"),
    path("launches/<slug:slug>/tokens/", trust.tokens_view, name="launch-tokens"),
    path("launches/<slug:slug>/audit.<str:fmt>", trust.audit_export, name="launch-audit"),
    path("s/<str:secret>/", trust.share_open, name="share-open"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # An invitation's one-time link (checklists/core/accounts.py): the person sets a password
    # and is signed in. There is no "forgot password" page: an admin or operator re-invites.
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            post_reset_login=True,
            post_reset_login_backend="django.contrib.auth.backends.ModelBackend",
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("favicon.ico", RedirectView.as_view(url=static("launchboard/favicon.svg"))),
    path("healthz", api.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/launches/", api.launches, name="api-launches"),
    path("api/launches/<slug:slug>/", api.launch_readiness, name="api-launch"),
    path("api/launches/<slug:slug>/runs/", api.runs_upload, name="api-runs-upload"),
    path("api/launches/<slug:slug>/report.<str:fmt>", api.report, name="api-report"),
    path("api/launches/<slug:slug>/diff/", api.diff, name="api-diff"),
    path("api/runs/<int:run_id>/", api.run_detail, name="api-run"),
    path("api/openapi.json", api.openapi, name="api-openapi"),
    path("admin/", admin.site.urls),
    path("", include("notifications.urls")),
]

handler400 = "launchboard.errors.bad_request"
handler403 = "launchboard.errors.permission_denied"
handler404 = "launchboard.errors.page_not_found"
handler500 = "launchboard.errors.server_error"
