import pytest
from django.test import Client

from checklists.models import Membership


@pytest.fixture
def engineer(demo, django_user_model) -> Client:
    """A browser signed in as an engineer of the demo launch."""
    user = django_user_model.objects.create_user("eng")
    Membership.objects.create(launch=demo, user=user, role="engineer")
    client = Client()
    client.force_login(user)
    return client
