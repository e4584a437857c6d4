// Launchboard status page: draws the charts and keeps the page current.
// The server is the source of truth: a websocket message only says "version N exists"; the page
// then fetches the sections it is missing. It never shows "live" unless the socket is open.

const board = document.getElementById("board");
const liveState = document.getElementById("live-state");

function drawCharts(root = document) {
  if (!window.Plotly) return;
  for (const el of root.querySelectorAll("[data-figure]")) {
    const data = document.getElementById(el.dataset.figure);
    if (!data) continue;
    const figure = JSON.parse(data.textContent);
    window.Plotly.react(el, figure.data, figure.layout, { displayModeBar: false, responsive: true });
  }
}

function setLive(state, text) {
  if (!liveState) return;
  liveState.dataset.state = state;
  liveState.textContent = text;
}

let version = Number(board?.dataset.version || 0);
let refreshing = null;

async function refresh() {
  // Coalesce: one fetch at a time; a newer nudge during a fetch triggers one more.
  if (refreshing) { refreshing.again = true; return; }
  refreshing = { again: false };
  try {
    const response = await fetch(window.location.pathname, { headers: { "X-Requested-With": "fetch" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const html = await response.text();
    const doc = new DOMParser().parseFromString(html, "text/html");
    const fresh = doc.getElementById("board");
    const newVersion = Number(fresh?.dataset.version || 0);
    if (fresh && newVersion >= version) applySections(doc, newVersion);
  } catch (err) {
    console.warn("refresh failed", err);
  } finally {
    const again = refreshing.again;
    refreshing = null;
    if (again) refresh();
  }
}

function applySections(doc, newVersion) {
  const oldVerdict = document.querySelector("#sec-verdict .verdict-word")?.textContent;
  for (const section of doc.querySelectorAll("[data-section]")) {
    const current = document.getElementById(section.id);
    if (current && current.outerHTML !== section.outerHTML) current.replaceWith(section);
  }
  for (const script of doc.querySelectorAll("script[type='application/json']")) {
    const current = document.getElementById(script.id);
    if (current) current.textContent = script.textContent;
  }
  version = newVersion;
  board.dataset.version = String(newVersion);
  drawCharts();
  const verdict = document.getElementById("sec-verdict");
  if (verdict && verdict.querySelector(".verdict-word")?.textContent !== oldVerdict) {
    verdict.classList.add("changed");
    document.title = `${verdict.querySelector(".verdict-word").textContent} · ${document.title.split(" · ").slice(1).join(" · ")}`;
  }
}

let attempt = 0;
let offlineSince = null;

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/ws/launches/${board.dataset.slug}/`);
  socket.onopen = () => { attempt = 0; offlineSince = null; setLive("live", "live"); };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "progress") onProgressMessage(message);
    if (message.type === "live") refresh();
    if (typeof message.version === "number" && message.version !== version) refresh();
  };
  socket.onclose = () => {
    offlineSince = offlineSince || new Date();
    const at = offlineSince.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    setLive(attempt > 3 ? "offline" : "reconnecting", attempt > 3 ? `offline since ${at}` : "reconnecting…");
    // Exponential backoff with full jitter, capped at 30 s.
    const delay = Math.random() * Math.min(30000, 500 * 2 ** attempt);
    attempt += 1;
    setTimeout(connect, delay);
  };
}

drawCharts();
if (board) connect();

// --- uploads: bytes sent (XHR progress), then parsing progress (pushed, polled as a fallback) ---
function csrfToken(form) {
  return form.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
}

function showUpload(text, percent) {
  const status = document.getElementById("upload-status");
  const bar = document.getElementById("upload-progress");
  if (status) status.textContent = text;
  if (bar) { bar.hidden = percent == null; if (percent != null) bar.value = percent; }
}

const watchedRuns = new Map();

async function followRun(runId) {
  for (let i = 0; i < 3600; i += 1) {
    const response = await fetch(`/api/runs/${runId}/`, { headers: { Accept: "application/json" } });
    if (response.ok) {
      const run = await response.json();
      if (run.status === "done") { showUpload(`Run #${runId} ingested.`, null); refresh(); return; }
      if (run.status === "failed") { showUpload(`Run #${runId} could not be used: ${run.error}`, null); refresh(); return; }
      if (!watchedRuns.get(runId)) showUpload(`Parsing run #${runId}… ${run.progress?.percent ?? 0}%`, run.progress?.percent ?? 0);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function onProgressMessage(message) {
  if (!message.run) return;
  watchedRuns.set(message.run, true);
  const pct = message.percent ?? 0;
  showUpload(`Parsing run #${message.run}… ${pct}% (${(message.lines || 0).toLocaleString()} lines)`, pct);
  const row = document.querySelector(`#run-${message.run} progress`);
  if (row) row.value = pct;
}

function uploadWithProgress(form) {
  const xhr = new XMLHttpRequest();
  xhr.open("POST", form.action);
  xhr.setRequestHeader("Accept", "application/json");
  xhr.setRequestHeader("X-CSRFToken", csrfToken(form));
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) showUpload(`Uploading… ${Math.round((100 * e.loaded) / e.total)}%`, (100 * e.loaded) / e.total);
  };
  xhr.onload = () => {
    let data = {};
    try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
    if (xhr.status >= 400) { showUpload(data.error || `Upload refused (HTTP ${xhr.status}).`, null); return; }
    if (data.duplicate) { showUpload(`Already ingested as run #${data.id} (same content).`, null); return; }
    showUpload(`Uploaded; parsing run #${data.id}…`, 0);
    followRun(data.id);
  };
  xhr.onerror = () => showUpload("Upload failed: the server could not be reached.", null);
  xhr.send(new FormData(form));
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.id === "upload-form") {
    event.preventDefault();
    uploadWithProgress(form);
  }
});
