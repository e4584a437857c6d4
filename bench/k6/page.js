// One kind of reader, many of them: GET one URL in a loop (the status page, or the readiness
// API), with or without think time. Used by bench/page_bench.py against Launchboard and against
// nginx serving the same bytes, in the same run.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e URL_PATH=/launches/whatsapp-saas/ \
//          -e VUS=500 -e THINK=1 -e DURATION=60s bench/k6/page.js
import http from "k6/http";
import { check, sleep } from "k6";

const BASE = __ENV.BASE_URL || "http://127.0.0.1:8000";
const PATH = __ENV.URL_PATH || "/launches/whatsapp-saas/";
const THINK = Number(__ENV.THINK || 0);

export const options = {
  discardResponseBodies: true,
  scenarios: {
    readers: {
      executor: "constant-vus",
      vus: Number(__ENV.VUS || 500),
      duration: __ENV.DURATION || "60s",
      gracefulStop: "5s",
    },
  },
  summaryTrendStats: ["avg", "min", "med", "p(90)", "p(95)", "p(99)", "max"],
  // The seed's own launch criteria (../shared/seed/launch-action-plan.md): p95 < 400 ms, < 1% errors.
  thresholds: {
    http_req_duration: ["p(95)<400"],
    http_req_failed: ["rate<0.01"],
  },
};

export default function () {
  const res = http.get(BASE + PATH, { tags: { name: PATH } });
  check(res, { "status 200": (r) => r.status === 200 });
  if (THINK > 0) sleep(THINK);
}
