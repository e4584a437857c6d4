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


def test_nothing_of_ours_can_be_added_changed_or_deleted_in_the_admin(rf, admin_user):
    """A save in the admin appends no Event, bumps no version and pushes nothing: every row
    of ours is read-only there (the plan's rows are changed by importing the plan)."""
    request = rf.get("/admin/")
    request.user = admin_user
    ours = [m for m in apps.get_models() if m._meta.app_label in ("checklists", "metrics")]
    writable = []
    for model in ours:
        model_admin = admin.site._registry[model]
        inlines = model_admin.get_inline_instances(request)
        for part in [model_admin, *inlines]:
            if (
                part.has_add_permission(request, None)
                if part is not model_admin
                else part.has_add_permission(request)
            ):
                writable.append(f"{model.__name__}: add")
            if part.has_change_permission(request) or part.has_delete_permission(request):
                writable.append(f"{model.__name__}: change/delete")
        assert model_admin.has_view_permission(request)
    assert not writable


def test_a_threshold_posted_to_the_admin_is_refused_and_changes_nothing(demo, admin_client):
    from checklists.models import Criterion, Event, Launch

    c = Criterion.objects.filter(launch=demo).exclude(threshold="").first()
    version = Launch.objects.get(pk=demo.pk).version
    page = admin_client.get(f"/admin/checklists/criterion/{c.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    response = admin_client.post(
        f"/admin/checklists/criterion/{c.pk}/change/",
        {"threshold": "rate<0.5", "title": c.title, "key": c.key, "launch": demo.pk},
    )
    assert response.status_code == 403
    c.refresh_from_db()
    assert c.threshold != "rate<0.5"
    assert Launch.objects.get(pk=demo.pk).version == version
    assert Event.objects.filter(launch=demo).count() == version


def test_importing_the_plan_again_restores_a_row_changed_behind_its_back(demo, demo_plan_text):
    """Same plan, same hash: the rows are compared anyway, and the import puts the plan back
    with an Event saying what it restored."""
    from checklists.core.services import plan_import
    from checklists.engine.plan import load_plan
    from checklists.models import Criterion, Event, Launch

    c = Criterion.objects.filter(launch=demo).exclude(threshold="").first()
    planned = c.threshold
    Criterion.objects.filter(pk=c.pk).update(threshold="rate<0.5")  # a database edit
    version = Launch.objects.get(pk=demo.pk).version
    result = plan_import(load_plan(demo_plan_text, "whatsapp-saas.yaml"))
    assert result.changed
    assert any(c.key in line and "threshold" in line for line in result.changes)
    c.refresh_from_db()
    assert c.threshold == planned
    assert Launch.objects.get(pk=demo.pk).version == version + 1
    assert Event.objects.filter(launch=demo).latest("version").kind == "plan.imported"
    again = plan_import(load_plan(demo_plan_text, "whatsapp-saas.yaml"))
    assert not again.changed
    assert Launch.objects.get(pk=demo.pk).version == version + 1
