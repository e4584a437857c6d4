// The home page keeps itself current: it asks the launch list (answered 304 until something
// changes) every few seconds and, when it changed, takes the new list from the page.
import { describeTargets } from "./when.js";

const list = document.getElementById("launch-list");
const live = document.getElementById("list-live");
let etag = null;

async function refresh() {
  try {
    const response = await fetch("/api/launches/", {
      cache: "no-store",
      headers: etag ? { "If-None-Match": etag, Accept: "application/json" } : { Accept: "application/json" },
    });
    if (response.status === 304) return;
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    etag = response.headers.get("ETag");
    const data = await response.json();
    const shown = [...list.querySelectorAll(".launch-row")].map((r) => `${r.dataset.slug}@${r.dataset.version}`).join();
    if (shown === data.launches.map((l) => `${l.slug}@${l.version}`).join()) return;
    const page = await fetch("/", { cache: "no-store" });
    const fresh = new DOMParser().parseFromString(await page.text(), "text/html").getElementById("launch-list");
    if (fresh && list) {
      list.replaceChildren(...fresh.children);
      describeTargets(list);
    }
    if (live) live.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  } catch (error) {
    if (live) live.textContent = `Could not update (${error.message}); trying again.`;
  }
}

describeTargets();
setInterval(() => describeTargets(), 30000);
if (list) {
  refresh();
  setInterval(refresh, 5000);
}
