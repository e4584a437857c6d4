"""Locust users for test_locust_real.py (run headless against tests/support/target.py)."""

from locust import HttpUser, constant, task


class Visitor(HttpUser):
    wait_time = constant(0.05)

    @task(6)
    def ok(self):
        self.client.get("/ok", name="GET /ok")

    @task(3)
    def slow(self):
        self.client.get("/slow?ms=40", name="GET /slow")

    @task(1)
    def fail(self):
        self.client.get("/fail", name="GET /fail")

    @task(1)
    def timeout(self):
        self.client.get("/timeout?s=2", name="GET /timeout", timeout=0.25)

    @task(1)
    def login(self):
        self.client.post("/login", name="POST /login")
