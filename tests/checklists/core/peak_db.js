// The seed's peak test in miniature: 30 users hammer an endpoint whose connection pool has
// POOL connections. With a small pool requests queue, time out (503) and p95 climbs.
import http from "k6/http";
import { check } from "k6";

export const options = {
  scenarios: {
    peak: { executor: "constant-vus", vus: 30, duration: __ENV.DURATION || "4s" },
  },
  thresholds: { http_req_failed: ["rate<0.01"], http_req_duration: ["p(95)<400"] },
};

export default function () {
  const res = http.get(`${__ENV.BASE}/db?pool=${__ENV.POOL}&hold_ms=40&wait_ms=150`, {
    tags: { name: "GET /api/messages" },
  });
  check(res, { "status is 200": (r) => r.status === 200 });
}
