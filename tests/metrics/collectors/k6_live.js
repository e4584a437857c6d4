// A 5-second k6 run against tests/support/target.py, written into InfluxDB by
// `k6 run --out influxdb=...`. Two scenarios; failures (/flaky, /fail) and slow requests, with
// sleeps of 30-60 ms: enough samples in a narrow band that percentiles land among dense
// samples, where nearest-rank and interpolation differ by far less than 1%.
import http from 'k6/http';
import exec from 'k6/execution';

const BASE = __ENV.TARGET;

export const options = {
  scenarios: {
    peak: { executor: 'constant-vus', vus: 8, duration: '5s', exec: 'peak' },
    errors: {
      executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '5s',
      preAllocatedVUs: 4, exec: 'errors',
    },
  },
  // Thresholds on submetrics make --summary-export include them.
  thresholds: {
    'http_req_duration{scenario:peak}': ['p(95)<400'],
    'http_req_failed{scenario:peak}': ['rate<0.5'],
    'http_reqs{scenario:peak}': ['count>0'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

// One InfluxDB series per VU: k6 keeps the VU number out of the tags, so two VUs finishing a
// request in the same nanosecond would write one point twice and InfluxDB would keep one (k6#636).
function tagVu() {
  exec.vu.metrics.tags['vu_id'] = String(exec.vu.idInTest);
}

export function peak() {
  tagVu();
  const ms = 30 + Math.random() * 30;
  http.get(`${BASE}/slow?ms=${ms}`, { tags: { name: 'GET /slow' } });
  http.get(`${BASE}/flaky?every=7`, { tags: { name: 'GET /flaky' } });
}

export function errors() {
  tagVu();
  http.get(`${BASE}/fail`, { tags: { name: 'GET /fail' } });
}
