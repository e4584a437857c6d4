"""Accounts without the Django admin (issue 12 §4): a launch admin invites people on the
Members page or with ``grant --create``; the invitee sets a password through a one-time link;
people change their password; signing out returns to the page they were on."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from checklists.models import Event, Membership

pytestmark = pytest.mark.django_db

MEMBERS = "/launches/whatsapp-saas/members/"
GOOD = "a long launch-day passphrase 7"


@pytest.fixture
def admin_client(demo, django_user_model):
    admin = django_user_model.objects.create_user("ada", password=GOOD)
    Membership.objects.create(launch=demo, user=admin, role="admin")
    client = Client()
    client.force_login(admin)
    return client


def _link(html: str) -> str:
    [link] = re.findall(r'<code class="invite-link">([^<]+)</code>', html)
    return link


def _signed_in(username: str, password: str) -> Client | None:
    """A browser signed in through the sign-in page, as a person would, or None."""
    browser = Client()
    response = browser.post("/accounts/login/", {"username": username, "password": password})
    return browser if response.status_code == 302 else None


def _set_password(link: str) -> Client:
    """Follow the one-time link as the invitee would, in a browser of their own."""
    browser = Client()
    path = link.removeprefix("http://testserver")
    form = browser.get(path, follow=True)
    assert form.status_code == 200 and "Set your password" in form.content.decode()
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": GOOD, "new_password2": GOOD},
        follow=True,
    )
    assert "Your password is set" in done.content.decode()
    return browser


def test_an_admin_invites_a_new_engineer_who_sets_a_password_with_the_link_once(demo, admin_client):
    events = Event.objects.filter(launch=demo).count()
    response = admin_client.post(
        MEMBERS, {"username": "eng", "email": "eng@example.com", "role": "engineer"}
    )
    assert response.status_code == 200
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    )
    link = _link(response.content.decode())
    assert link.startswith("http://testserver/accounts/reset/")
    eng = get_user_model().objects.get(username="eng")
    assert not eng.has_usable_password() and eng.email == "eng@example.com"
    assert Membership.objects.filter(launch=demo, user=eng, role="engineer").exists()
    assert Event.objects.filter(launch=demo).count() == events + 1
    listing = admin_client.get(MEMBERS).content.decode()
    assert link not in listing and "invited, no password yet" in listing

    browser = _set_password(link)
    page = browser.get("/launches/whatsapp-saas/").content.decode()
    assert "eng" in page and "Sign out" in page  # signed in straight away
    assert _signed_in("eng", GOOD)
    again = Client().get(link.removeprefix("http://testserver"), follow=True)
    assert "This link no longer works" in again.content.decode()


def test_an_invitation_is_emailed_when_email_is_configured(demo, admin_client, settings):
    settings.EMAIL_CONFIGURED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = admin_client.post(
        MEMBERS,
        {"username": "cto", "email": "cto@example.com", "role": "approver", "signoff_role": "cto"},
    )
    html = response.content.decode()
    assert "was sent to cto@example.com" in html and "invite-link" not in html
    [message] = mail.outbox
    assert message.to == ["cto@example.com"]
    [link] = re.findall(r"http://testserver/accounts/reset/\S+", message.body)
    _set_password(link)


def test_a_mail_server_that_fails_stores_nothing_and_says_so(demo, admin_client, settings):
    settings.EMAIL_CONFIGURED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    settings.EMAIL_USE_TLS = False
    users, events = get_user_model().objects.count(), Event.objects.count()
    response = admin_client.post(
        MEMBERS, {"username": "cto", "email": "cto@example.com", "role": "viewer"}
    )
    assert response.status_code == 400
    assert "could not be emailed" in response.content.decode()
    assert (get_user_model().objects.count(), Event.objects.count()) == (users, events)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"username": "two words", "role": "engineer"}, "Username:"),
        ({"username": "eve", "email": "not-an-address", "role": "engineer"}, "Email:"),
        ({"username": "eve", "role": "approver"}, "An approver needs"),
        ({"username": "eve", "role": "overlord"}, "Choose a role."),
        ({"username": "", "role": "engineer"}, "Give the person"),
    ],
)
def test_a_bad_invitation_says_why_and_makes_nothing(demo, admin_client, form, message):
    users, events = get_user_model().objects.count(), Event.objects.count()
    response = admin_client.post(MEMBERS, form)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (get_user_model().objects.count(), Event.objects.count()) == (users, events)


def test_a_person_with_an_account_gets_the_role_and_no_link(demo, admin_client, django_user_model):
    django_user_model.objects.create_user("sam", password=GOOD)
    response = admin_client.post(MEMBERS, {"username": "sam", "role": "viewer"})
    assert response.status_code == 302
    assert Membership.objects.filter(user__username="sam", role="viewer").exists()
    assert "invite-link" not in admin_client.get(MEMBERS).content.decode()


def test_a_new_link_only_for_someone_who_never_set_a_password(
    demo, admin_client, django_user_model
):
    admin_client.post(MEMBERS, {"username": "eng", "role": "engineer"})
    invited = Membership.objects.get(user__username="eng")
    renewed = admin_client.post(MEMBERS, {"relink": invited.pk})
    _set_password(_link(renewed.content.decode()))
    # Now eng has a password: a link from an admin would be a way into their account.
    refused = admin_client.post(MEMBERS, {"relink": invited.pk})
    assert refused.status_code == 400 and "invite-link" not in refused.content.decode()


def test_grant_create_makes_the_account_and_prints_its_link(demo, settings):
    settings.PUBLIC_URL = "https://board.example.com"
    out = io.StringIO()
    call_command("grant", "eng", "whatsapp-saas", "engineer", "--create", stdout=out)
    text = out.getvalue()
    assert "eng is engineer of whatsapp-saas" in text
    [link] = re.findall(r"https://board\.example\.com/accounts/reset/\S+", text)
    _set_password(link.replace("https://board.example.com", "http://testserver"))


def test_grant_without_create_says_how_and_a_bad_name_stores_nothing(demo):
    with pytest.raises(CommandError, match=r"no user 'eng' \(add --create"):
        call_command("grant", "eng", "whatsapp-saas", "engineer")
    users, events = get_user_model().objects.count(), Event.objects.count()
    with pytest.raises(CommandError, match="Username:"):
        call_command("grant", "bad name", "whatsapp-saas", "engineer", "--create")
    with pytest.raises(CommandError, match="an approver needs --signoff"):
        call_command("grant", "newcto", "whatsapp-saas", "approver", "--create")
    assert (get_user_model().objects.count(), Event.objects.count()) == (users, events)


def test_people_change_their_own_password(demo, django_user_model):
    django_user_model.objects.create_user("pat", password=GOOD)
    client = _signed_in("pat", GOOD)
    assert "/accounts/password/" in client.get("/launches/whatsapp-saas/").content.decode()
    new = "another launch-day passphrase 8"
    done = client.post(
        "/accounts/password/",
        {"old_password": GOOD, "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert "Your password is changed" in done.content.decode()
    assert _signed_in("pat", new)
    assert not _signed_in("pat", GOOD)


def test_signing_out_returns_to_the_page_the_person_was_on(demo, django_user_model):
    django_user_model.objects.create_user("pat", password=GOOD)
    client = _signed_in("pat", GOOD)
    page = client.get("/launches/whatsapp-saas/").content.decode()
    assert 'name="next" value="/launches/whatsapp-saas/"' in page
    response = client.post("/accounts/logout/", {"next": "/launches/whatsapp-saas/"})
    assert response.status_code == 302 and response["Location"] == "/launches/whatsapp-saas/"
    elsewhere = _signed_in("pat", GOOD)
    # never to another site
    assert elsewhere.post("/accounts/logout/", {"next": "https://evil.example/"})["Location"] == "/"


def test_the_admin_names_its_lists_in_plain_english(admin_client, admin_user):
    client = Client()
    client.force_login(admin_user)
    index = client.get("/admin/").content.decode()
    assert "Launches" in index and "Run series" in index and "Source series" in index
    assert "Launchs" not in index and "seriess" not in index
