"""The demo: the seed's launch day replayed with real evidence (``manage.py demo``)."""
