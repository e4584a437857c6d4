import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _nobody_known_to_watch():
    """Whether a launch is followed is cached per launch id; ids come back after a rollback."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _receivers_on_loopback(settings):
    """The receivers these tests run listen on 127.0.0.1, which production settings (CI runs
    with them) refuse; the test of that refusal turns it back off."""
    settings.NOTIFY_ALLOW_PRIVATE_TARGETS = True
