"""Every model has a page in the Django admin, and the record-keeping ones are read-only."""

from django.apps import apps
from django.contrib import admin


def test_every_model_of_ours_is_in_the_admin():
    ours = [m for m in apps.get_models() if m._meta.app_label in ("checklists", "metrics")]
    missing = [m.__name__ for m in ours if m not in admin.site._registry]
    assert ours and not missing


def test_events_and_signoffs_cannot_be_edited_in_the_admin(rf, admin_user):
    from checklists.models import Event, SignOff

    request = rf.get("/admin/")
    request.user = admin_user
    for model in (Event, SignOff):
        model_admin = admin.site._registry[model]
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
        assert not model_admin.has_add_permission(request)
