// The demo's load tests against the stand-in API (launchboard/demo/standin.py), in miniature:
// the seed's suite (baseline, peak, spike, endurance, business flow) at a scale one laptop
// can run in a couple of minutes. TEST picks the test (its scenario is named after it, which
// tells Launchboard which test the run is evidence for); SCALE stretches every duration.
//
//   k6 run -e BASE=http://127.0.0.1:PORT -e TEST=peak launchboard/demo/k6/launch_day.js
import http from "k6/http";
import { check, sleep } from "k6";
import { Counter } from "k6/metrics";

const BASE = __ENV.BASE || "http://127.0.0.1:8080";
const TEST = __ENV.TEST || "peak";
const SCALE = Number(__ENV.SCALE || 1);
const s = (seconds) => `${Math.max(1, Math.round(seconds * SCALE))}s`;
const aiFailures = new Counter("ai_api_failures");

const SCENARIOS = {
  baseline: { executor: "constant-vus", vus: 10, duration: s(10), exec: "browse" },
  peak: { executor: "constant-vus", vus: Number(__ENV.VUS || 330), duration: s(20), exec: "browse" },
  spike: {
    executor: "ramping-vus",
    startVUs: 10,
    stages: [
      { duration: s(5), target: 10 },
      { duration: s(2), target: 150 },
      { duration: s(5), target: 150 },
      { duration: s(2), target: 10 },
      { duration: `${Math.max(10, Math.round(10 * SCALE))}s`, target: 10 }, // time to recover
    ],
    exec: "browse",
  },
  // ten 60-s windows at least: what Launchboard needs to judge a latency drift
  endurance: { executor: "constant-vus", vus: 20, duration: s(630), exec: "browse" },
  business_flow: { executor: "constant-vus", vus: 20, duration: s(15), exec: "flow" },
};

export const options = {
  scenarios: { [TEST]: SCENARIOS[TEST.replace("-", "_")] || SCENARIOS.peak },
  // the seed's targets, so the terminal says what the board will say
  thresholds: { http_req_failed: ["rate<0.01"], http_req_duration: ["p(95)<400"] },
  summaryTrendStats: ["avg", "p(50)", "p(95)", "p(99)", "max"],
};

export function browse() {
  const res = http.get(`${BASE}/api/messages`, { tags: { name: "GET /api/messages" } });
  check(res, { "status is 200": (r) => r.status === 200 });
  sleep(0.15 + Math.random() * 0.1);
}

export function flow() {
  const login = http.post(`${BASE}/api/login`, null, { tags: { name: "POST /api/login" } });
  const list = http.get(`${BASE}/api/conversations`, { tags: { name: "GET /api/conversations" } });
  const ai = http.post(`${BASE}/api/ai/reply`, "{}", { tags: { name: "POST /api/ai/reply" } });
  if (ai.status !== 200) aiFailures.add(1);
  check(login, { "logged in": (r) => r.status === 200 });
  check(list, { "conversations listed": (r) => r.status === 200 });
  check(ai, { "AI replied": (r) => r.status === 200 });
  sleep(0.3);
}
