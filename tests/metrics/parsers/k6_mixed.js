// Real k6 run used by test_k6_real.py against tests/support/target.py (a few seconds).
// Scenarios: steady (groups, checks, custom metrics), errors (500s, flaky, 1050 timeouts),
// db (503 from an exhausted pool), logins (401 counted as expected). setup() runs outside any
// scenario. Thresholds include submetrics and custom metrics.
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';

const BASE = __ENV.BASE;
const DUR = __ENV.DUR || '3s';
const loginLatency = new Trend('login_latency', true);
const ordersPlaced = new Counter('orders_placed');
const queueDepth = new Gauge('queue_depth');
const loginOk = new Rate('login_ok');

export const options = {
  scenarios: {
    steady: { executor: 'constant-vus', vus: 4, duration: DUR, exec: 'steady' },
    errors: { executor: 'constant-vus', vus: 2, duration: DUR, exec: 'errors' },
    db: {
      executor: 'constant-arrival-rate', rate: 60, timeUnit: '1s', duration: DUR,
      preAllocatedVUs: 12, exec: 'db',
    },
    logins: { executor: 'constant-vus', vus: 1, duration: DUR, exec: 'logins' },
  },
  thresholds: {
    http_req_duration: ['p(95)<400', 'p(99)<1500', 'avg<300', 'med<100', 'max<5000'],
    'http_req_duration{scenario:steady}': ['p(95)<200'],
    'http_reqs{error_code:1050}': ['count>=0'],
    http_req_failed: ['rate<0.01'],
    http_reqs: ['count>10'],
    checks: ['rate>0.9'],
    login_latency: ['avg<500', 'p(90)<1000'],
    orders_placed: ['count>0'],
    queue_depth: ['value<100'],
    login_ok: ['rate>0.5'],
  },
};

export function setup() {
  http.get(`${BASE}/ok`, { tags: { name: 'GET /ok' } });
}

export function steady() {
  group('browse', () => {
    const r = http.get(`${BASE}/ok`, { tags: { name: 'GET /ok' } });
    check(r, { 'browse 200': (x) => x.status === 200 });
    group('detail', () => {
      const s = http.get(`${BASE}/slow?ms=30`, { tags: { name: 'GET /slow' } });
      check(s, { 'slow 200': (x) => x.status === 200 });
    });
  });
  ordersPlaced.add(1);
  queueDepth.add(__ITER % 7);
  sleep(0.05);
}

export function errors() {
  http.get(`${BASE}/fail`, { tags: { name: 'GET /fail' } });
  http.get(`${BASE}/flaky?every=3`, { tags: { name: 'GET /flaky' } });
  http.get(`${BASE}/timeout?s=2`, { timeout: '250ms', tags: { name: 'GET /timeout' } });
}

export function db() {
  const r = http.get(`${BASE}/db?pool=2&hold_ms=40&wait_ms=30`, { tags: { name: 'GET /db' } });
  check(r, { 'db not 503': (x) => x.status !== 503 });
}

export function logins() {
  const r = http.post(`${BASE}/login`, null, {
    tags: { name: 'POST /login' }, responseCallback: http.expectedStatuses(200, 401),
  });
  loginLatency.add(r.timings.duration);
  loginOk.add(r.status === 200);
  sleep(0.1);
}

export function handleSummary(data) {
  return __ENV.SUMMARY_JSON ? { [__ENV.SUMMARY_JSON]: JSON.stringify(data) } : {};
}
