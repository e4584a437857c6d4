"""The new-launch page: paste markdown, review the YAML draft, create the launch; or start from
an earlier launch's plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from checklists.models import Event, Launch, Task
from tests.support.people import PASSWORD, members

SEED = Path(__file__).resolve().parents[2] / "fixtures/markdown/launch-action-plan.md"


@pytest.fixture
def staff(db, client, django_user_model):
    user = django_user_model.objects.create_user("sam", password=PASSWORD, is_staff=True)
    client.force_login(user)
    return user


def draft(client, **posted):
    return client.post("/launches/new/", {"action": "draft", **posted})


def test_it_drafts_pasted_markdown_and_creates_the_launch_only_when_asked(client, staff):
    answer = draft(client, markdown=SEED.read_text())
    assert answer.status_code == 200
    body = answer.content.decode()
    assert "slug: load-test-action-plan-pre-launch-fixes" in body
    assert "Create launch" in body
    assert '<td data-label="Line">372</td>' in body  # the wrong "Total Time" line, reported
    assert not Launch.objects.exists()  # a draft is not a launch

    yaml = answer.context["yaml"].replace("load-test-action-plan-pre-launch-fixes", "wa-md")
    done = client.post("/launches/new/", {"action": "import", "yaml": yaml})
    assert done.status_code == 302 and done["Location"] == "/launches/wa-md/"
    launch = Launch.objects.get(slug="wa-md")
    assert launch.tasks.count() == 10
    event = Event.objects.get(launch=launch)
    assert (event.kind, event.actor_name) == ("plan.imported", "sam")
    assert client.get("/launches/wa-md/").status_code == 200


def test_the_button_says_update_when_the_slug_is_a_launch_they_run(client, staff):
    first = draft(client, markdown=SEED.read_text())
    client.post("/launches/new/", {"action": "import", "yaml": first.context["yaml"]})
    again = draft(client, markdown=SEED.read_text())
    assert "Update launch" in again.content.decode()


def test_an_uploaded_file_is_drafted_like_pasted_text(client, staff):
    upload = SimpleUploadedFile("plan.md", SEED.read_bytes(), content_type="text/markdown")
    answer = client.post("/launches/new/", {"action": "draft", "upload": upload})
    assert answer.status_code == 200
    assert "from plan.md" in answer.content.decode()


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"markdown": ""}, "paste a markdown action plan"),
        ({"markdown": "# Notes\n\njust words\n"}, "nothing to draft"),
        ({"upload": SimpleUploadedFile("x.md", b"\x00\x01binary")}, "a binary file"),
    ],
)
def test_nothing_to_draft_is_said(client, staff, posted, message):
    answer = draft(client, **posted)
    assert answer.status_code == 400
    assert message in answer.content.decode()


def test_invalid_yaml_shows_the_line_and_stores_nothing(client, staff):
    yaml = "launch:\n  slug: x\n  name: X\ntasks:\n  - key: a\n    title: A\n    priority: urgent\n"
    answer = client.post("/launches/new/", {"action": "import", "yaml": yaml})
    assert answer.status_code == 400
    body = answer.content.decode()
    assert (
        "the draft:7: tasks item &#x27;a&#x27;: priority: &#x27;urgent&#x27; is not one of" in body
    )
    assert "priority: urgent" in body  # the edited draft is kept for fixing
    assert not Launch.objects.exists() and not Event.objects.exists()


def test_an_existing_slug_is_updated_by_its_admin_only(client, demo, django_user_model):
    people = members(demo, ("ada", "admin", ""), ("eve", "engineer", ""))
    client.force_login(people["eve"])
    assert client.get("/launches/new/").status_code == 403
    client.force_login(people["ada"])
    assert client.get("/launches/new/").status_code == 200
    text = SEED.read_text()
    answer = client.post("/launches/new/", {"action": "draft", "markdown": text})
    yaml = answer.context["yaml"].replace("slug: load-test-action-plan-pre-launch-fixes", "slug: x")
    # a launch admin may not create launches ...
    assert client.post("/launches/new/", {"action": "import", "yaml": yaml}).status_code == 403
    # ... but updates the one they run
    yaml = answer.context["yaml"].replace(
        "slug: load-test-action-plan-pre-launch-fixes", "slug: whatsapp-saas"
    )
    done = client.post("/launches/new/", {"action": "import", "yaml": yaml})
    assert done.status_code == 302
    assert Launch.objects.count() == 1
    assert Launch.objects.get().tasks.filter(key="fix-db-connection-pool").exists()


def test_people_who_may_not_create_launches_get_403(client, db, django_user_model):
    client.force_login(django_user_model.objects.create_user("joe", password=PASSWORD))
    assert client.get("/launches/new/").status_code == 403
    answer = client.post(
        "/launches/new/", {"action": "import", "yaml": "launch: {slug: a, name: A}"}
    )
    assert answer.status_code == 403
    assert not Launch.objects.exists()
    client.logout()
    assert client.get("/launches/new/").status_code == 302  # to sign in


def test_the_home_page_links_it_for_those_allowed(client, staff):
    assert 'href="/launches/new/"' in client.get("/").content.decode()
    client.logout()
    assert 'href="/launches/new/"' not in client.get("/").content.decode()


def test_a_launch_from_an_earlier_one_has_its_plan_and_none_of_its_state(client, staff, demo):
    Task.objects.filter(launch=demo).update(status="done")
    answer = client.post(
        "/launches/new/",
        {"action": "copy", "source": "whatsapp-saas", "slug": "wa-next", "name": "WA next"},
    )
    assert answer.status_code == 302 and answer["Location"] == "/launches/wa-next/"
    new = Launch.objects.get(slug="wa-next")
    assert new.tasks.count() == demo.tasks.count()
    assert set(new.tasks.values_list("status", flat=True)) == {"pending"}
    assert list(new.events.values_list("kind", flat=True)) == ["plan.imported"]
    again = client.post(
        "/launches/new/",
        {"action": "copy", "source": "whatsapp-saas", "slug": "wa-next", "name": "Again"},
    )
    assert again.status_code == 400 and "exists already" in again.content.decode()


def test_a_plan_titled_new_is_drafted_as_new_launch(client, staff):
    answer = draft(client, markdown="# New\n\n- Deploy (2h)\n")
    assert answer.status_code == 200
    assert "new-launch" in answer.content.decode()
