// Launch day, as Launchboard sees it: everyone opens the board at once and keeps it open.
//
// All arrive within RAMP_S (10) seconds, then stay for DURATION:
//   80% viewers    load the status page, hold its WebSocket (HOLD_S on average), load it again
//   15% pollers    CI jobs: GET the readiness JSON every 5 s, sending back its ETag (304s)
//    5% engineers  signed in (SESSIONS: their session ids): read the board, tick or untick a
//                  checklist item every ENGINEER_THINK_S on average, upload a small result
//                  every fourth time
//
// The seed's own thresholds (p95 < 400 ms, < 1% errors) judge it; a change must reach the open
// pages within a second (push_latency: from the change's commit to its arrival on a page).
// bench/page_bench.py runs it; `make selftest` runs it and ingests the result into the
// launchboard-self launch (checklists/plans/launchboard-self.yaml).
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e SESSIONS=abc,def -e VUS=500 -e DURATION=60s \
//          bench/k6/launch_day.js
import http from "k6/http";
import ws from "k6/ws";
import { check, sleep } from "k6";
import { Counter, Trend } from "k6/metrics";

const BASE = __ENV.BASE_URL || "http://127.0.0.1:8000";
const SLUG = __ENV.SLUG || "whatsapp-saas";
const VUS = Number(__ENV.VUS || 500);
const DURATION = __ENV.DURATION || "60s";
const HOLD_S = Number(__ENV.HOLD_S || 30);
const THINK_S = Number(__ENV.ENGINEER_THINK_S || 10);
const SESSIONS = (__ENV.SESSIONS || "").split(",").filter((s) => s);
const UPLOAD_TEST = __ENV.UPLOAD_TEST || "peak";
const RESULT = __ENV.RESULT_FILE ? open(__ENV.RESULT_FILE) : null;

const engineers = SESSIONS.length ? Math.max(1, Math.round(VUS * 0.05)) : 0;
const pollers = Math.round(VUS * 0.15);
const viewers = VUS - pollers - engineers;

const pushLatency = new Trend("push_latency", true);
const pushes = new Counter("pushes");
const changes = new Counter("changes");

const RAMP_S = Number(__ENV.RAMP_S || 10);

// Everyone arrives within RAMP_S seconds (the morning of launch day), then stays.
const scenario = (exec, vus) => ({
  executor: "ramping-vus",
  exec,
  startVUs: 0,
  stages: [
    { duration: `${RAMP_S}s`, target: vus },
    { duration: DURATION, target: vus },
  ],
  gracefulRampDown: `${Math.ceil(HOLD_S * 1.5) + 5}s`,
  gracefulStop: `${Math.ceil(HOLD_S * 1.5) + 5}s`,
});

export const options = {
  scenarios: {
    viewers: scenario("viewer", viewers),
    pollers: scenario("poller", pollers),
    ...(engineers ? { engineers: scenario("engineer", engineers) } : {}),
  },
  summaryTrendStats: ["avg", "min", "med", "p(90)", "p(95)", "p(99)", "max", "count"],
  noCookiesReset: true, // an engineer's browser keeps its cookies between iterations
  thresholds: {
    "http_req_duration{name:status page}": ["p(95)<400"],
    "http_req_duration{name:readiness API}": ["p(95)<400"],
    "http_req_duration{scenario:engineers}": ["p(95)<400"],
    // the engineers' requests one by one (no target of their own: shown in the report)
    "http_req_duration{name:engineer page}": ["max>=0"],
    "http_req_duration{name:engineer reads}": ["max>=0"],
    "http_req_duration{name:tick}": ["max>=0"],
    "http_req_duration{name:upload}": ["max>=0"],
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.99"],
    push_latency: ["p(95)<1000"],
  },
};

const wsUrl = `${BASE.replace(/^http/, "ws")}/ws/launches/${SLUG}/`;
const HEAD = /"type": "(\w+)", "version": (\d+).*?"changed_at": ([\d.]+)/;

const BOARD = /data-version="(\d+)" data-content="(\w*)"/;

export function viewer() {
  const page = http.get(`${BASE}/launches/${SLUG}/`, { tags: { name: "status page" } });
  check(page, { "status page 200": (r) => r.status === 200 });
  // As board.js does: the socket says which sections the page shows, so nothing is resent.
  const board = page.status === 200 ? BOARD.exec(page.body.substring(0, 4000)) : null;
  let seen = board ? Number(board[1]) : 0;
  const url = board ? `${wsUrl}?content=${board[2]}` : wsUrl;
  const hold = HOLD_S * 1000 * (0.5 + Math.random());
  const res = ws.connect(url, { headers: { Origin: BASE }, tags: { name: "live page" } }, (socket) => {
    socket.on("message", (data) => {
      // Only the head of the message: the sections it carries are not ours to parse.
      const head = HEAD.exec(data.substring(0, 200));
      if (!head) return;
      const version = Number(head[2]);
      if (head[1] === "update" && version > seen) {
        pushLatency.add(Date.now() - Number(head[3]) * 1000);
        pushes.add(1);
      }
      seen = Math.max(seen, version);
    });
    socket.setTimeout(() => socket.close(), hold);
  });
  check(res, { "live page 101": (r) => r && r.status === 101 });
  sleep(1);
}

let etag = null; // per VU: each poller is one CI job

export function poller() {
  const res = http.get(`${BASE}/api/launches/${SLUG}/`, {
    tags: { name: "readiness API" },
    headers: etag ? { "If-None-Match": etag } : {},
    responseCallback: http.expectedStatuses(200, 304),
  });
  check(res, { "readiness 200 or 304": (r) => r.status === 200 || r.status === 304 });
  if (res.status === 200) etag = res.headers.Etag;
  sleep(5);
}

let signedIn = false;

function signIn() {
  const session = SESSIONS[(__VU - 1) % SESSIONS.length];
  http.cookieJar().set(BASE, "sessionid", session);
  signedIn = true;
}

function csrf() {
  const jar = http.cookieJar().cookiesForURL(BASE);
  return (jar.csrftoken || [""])[0];
}

function manualItems() {
  const res = http.get(`${BASE}/api/launches/${SLUG}/`, { tags: { name: "engineer reads" } });
  check(res, { "engineer reads 200": (r) => r.status === 200 });
  if (res.status !== 200) return [];
  return res.json("criteria").filter((c) => c.kind === "manual");
}

function tickOrUntick(item) {
  const ticked = item.status === "pass";
  const form = {
    checked: ticked ? "0" : "1",
    expected_checked: ticked ? "1" : "0",
    reason: ticked ? "re-checking it on launch day" : "",
  };
  const res = http.post(`${BASE}/launches/${SLUG}/criteria/${item.key}/tick/`, form, {
    tags: { name: "tick" },
    headers: { "X-CSRFToken": csrf(), Accept: "application/json", Referer: BASE },
    // 409: another engineer changed it first; the page shows it, nothing is lost
    responseCallback: http.expectedStatuses(200, 409),
  });
  check(res, { "tick 200 or 409": (r) => r.status === 200 || r.status === 409 });
  if (res.status === 200) changes.add(1);
  else if (res.status !== 409) {
    console.warn(`VU ${__VU} #${__ITER} tick ${item.key}: ${res.status} ${res.body.substring(0, 300)}`);
  }
}

function upload() {
  // Made unique per upload (trailing spaces), so each is a new run and not a duplicate.
  const body = RESULT + " ".repeat(__VU * 1000 + __ITER);
  const res = http.post(
    `${BASE}/launches/${SLUG}/runs/upload/`,
    { file: http.file(body, "result.json", "application/json"), test: UPLOAD_TEST },
    {
      tags: { name: "upload" },
      headers: { "X-CSRFToken": csrf(), Accept: "application/json", Referer: BASE },
    },
  );
  check(res, { "upload 202": (r) => r.status === 202 });
  if (res.status === 202) changes.add(1);
  else console.warn(`VU ${__VU} #${__ITER} upload: ${res.status} ${res.body.substring(0, 300)}`);
}

export function engineer() {
  if (!signedIn) signIn();
  const page = http.get(`${BASE}/launches/${SLUG}/`, { tags: { name: "engineer page" } });
  check(page, { "engineer page 200": (r) => r.status === 200 });
  if (!csrf()) console.warn(`VU ${__VU} #${__ITER} no CSRF cookie after the page (${page.status})`);
  const items = manualItems();
  if (RESULT && __ITER % 4 === 3) upload();
  else if (items.length) tickOrUntick(items[Math.floor(Math.random() * items.length)]);
  sleep(THINK_S * (0.5 + Math.random()));
}
