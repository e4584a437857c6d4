// A short peak scenario streamed into InfluxDB (`k6 run --out influxdb=...`), as the seed does
// with `--out influxdb=http://monitoring.example.com:8086/k6` during the re-test.
import http from "k6/http";

export const options = {
  scenarios: { peak: { executor: "constant-vus", vus: 5, duration: __ENV.DURATION || "4s" } },
};

export default function () {
  http.get(`${__ENV.BASE}/slow?ms=${20 + Math.random() * 20}`, { tags: { name: "GET /slow" } });
}
