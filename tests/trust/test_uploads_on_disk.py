"""Issue 10 §5: nothing reaches the upload dir before the request is allowed; a refused or an
extra file is never left behind; quotas count every byte; the form has a per-person limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.middleware.csrf import get_token
from django.test import Client

from checklists.core.tokens import token_create
from checklists.models import ApiToken, Membership
from metrics.models import Run

ROOT = Path(__file__).resolve().parents[2]
PEAK = (ROOT / "tests" / "fixtures" / "k6" / "peak_pass.ndjson").read_bytes()
FORM = "/launches/whatsapp-saas/runs/upload/"


@pytest.fixture
def upload_dir(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return settings.UPLOAD_DIR


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def signed_in(django_user_model, name: str, launch=None, role=None) -> tuple[Client, str]:
    user = django_user_model.objects.create_user(name, password="pw-" + name * 3)
    if launch is not None:
        Membership.objects.create(launch=launch, user=user, role=role)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.get("/launches/whatsapp-saas/")
    return client, get_token(response.wsgi_request)


def big(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"x" * 2_000_000)


def test_an_account_without_a_role_writes_nothing(demo, django_user_model, upload_dir):
    client, csrf = signed_in(django_user_model, "stranger")
    for _ in range(3):
        response = client.post(
            FORM,
            {"csrfmiddlewaretoken": csrf, "file": big("a.json"), "other": big("b.json")},
        )
        assert response.status_code in (403, 404)
    assert files_in(upload_dir) == []


def test_a_bad_csrf_token_writes_nothing(demo, django_user_model, upload_dir):
    client, _ = signed_in(django_user_model, "eng", demo, "engineer")
    response = client.post(FORM, {"csrfmiddlewaretoken": "x" * 64, "file": big("a.json")})
    assert response.status_code == 403
    assert files_in(upload_dir) == []


def test_a_refused_file_is_removed(demo, django_user_model, upload_dir):
    client, csrf = signed_in(django_user_model, "eng", demo, "engineer")
    response = client.post(
        FORM,
        {"csrfmiddlewaretoken": csrf, "file": SimpleUploadedFile("x.txt", b"not a result")},
        HTTP_ACCEPT="application/json",
    )
    assert 400 <= response.status_code < 500
    assert files_in(upload_dir) == []


def test_only_the_one_file_of_an_accepted_upload_is_kept(demo, django_user_model, upload_dir):
    client, csrf = signed_in(django_user_model, "eng", demo, "engineer")
    response = client.post(
        FORM,
        {
            "csrfmiddlewaretoken": csrf,
            "test": "peak",
            "file": SimpleUploadedFile("peak.ndjson", PEAK),
            "extra": big("extra.bin"),
            "more": big("more.bin"),
        },
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 202, response.content
    run = Run.objects.get()
    kept = files_in(upload_dir)
    assert len(kept) <= 1 and all(str(p) == run.stored_path for p in kept)


def test_the_byte_quota_counts_every_file_of_an_api_upload(demo, upload_dir):
    token, plain = token_create(demo, name="ci", scopes=[ApiToken.Scope.UPLOAD], created_by="t")
    response = Client().post(
        "/api/launches/whatsapp-saas/runs/",
        {"test": "peak", "file": SimpleUploadedFile("p.ndjson", PEAK), "pad": big("pad.bin")},
        HTTP_AUTHORIZATION=f"Bearer {plain}",
    )
    assert response.status_code == 202
    token.refresh_from_db()
    assert token.upload_bytes_today >= len(PEAK) + 2_000_000
    assert len(files_in(upload_dir)) <= 1


def test_the_form_has_a_per_person_limit(demo, django_user_model, upload_dir, settings):
    settings.USER_UPLOADS_PER_MINUTE = 2
    client, csrf = signed_in(django_user_model, "eng", demo, "engineer")
    codes = [
        client.post(
            FORM,
            {"csrfmiddlewaretoken": csrf, "file": SimpleUploadedFile("x.txt", b"nope")},
            HTTP_ACCEPT="application/json",
        ).status_code
        for _ in range(3)
    ]
    assert codes[:2] != [429, 429] and codes[2] == 429
    assert files_in(upload_dir) == []
