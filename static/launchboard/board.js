// Launchboard status page: draws the charts and keeps the page current.
//
// The server pushes the sections of the page that changed, with the launch version; the page
// applies them in place, keeping drawn charts (new points are appended, not redrawn). On every
// (re)connect the server sends a full snapshot, so a page that was away catches up by itself.
// The page says "live" only while its socket is open and heard from.

import { describeTargets } from "./when.js";

const board = document.getElementById("board");
const liveState = document.getElementById("live-state");
const PLOT_CONFIG = { displayModeBar: false, responsive: true };
let version = Number(board?.dataset.version || 0);
let content = board?.dataset.content || ""; // the sections shown: the server resends none if current
let verdict = board?.querySelector(".verdict-word")?.textContent.trim();

// --- charts ------------------------------------------------------------------------------------
function figureOf(el) {
  const data = document.getElementById(el.dataset.figure);
  return data ? JSON.parse(data.textContent) : null;
}

// Appending only the new points keeps zoom and hover; anything else is a full (diffed) redraw.
function extendOrReact(el, figure) {
  const old = el.data;
  const extendable = old && old.length === figure.data.length && figure.data.every((trace, i) => {
    const x0 = old[i].x || [];
    const x1 = trace.x || [];
    return x1.length >= x0.length && x0.length > 0 && x0.every((v, j) => v === x1[j]);
  });
  if (extendable && figure.data.some((t, i) => (t.x || []).length > old[i].x.length)) {
    const indices = figure.data.map((_, i) => i);
    const grow = (key) => figure.data.map((t, i) => (t[key] || []).slice(old[i].x.length));
    window.Plotly.extendTraces(el, { x: grow("x"), y: grow("y") }, indices);
    window.Plotly.relayout(el, { shapes: figure.layout.shapes || [], annotations: figure.layout.annotations || [] });
  } else {
    window.Plotly.react(el, figure.data, figure.layout, PLOT_CONFIG);
  }
}

// A figure's "now" line is where the clock is, not where it was when the figure was made.
function moveNow(figure) {
  const now = new Date().toISOString().slice(0, 19).replace("T", " "); // UTC, as the server writes
  for (const shape of figure.layout?.shapes || []) if (shape.name === "now") { shape.x0 = now; shape.x1 = now; }
  for (const note of figure.layout?.annotations || []) if (note.name === "now") note.x = now;
  const axis = figure.layout?.xaxis;
  if (axis?.type === "date" && Array.isArray(axis.range) && axis.range[1] < now) axis.range = [axis.range[0], now];
  return figure;
}

function drawCharts(root = document) {
  if (!window.Plotly) return;
  for (const el of root.querySelectorAll("[data-figure]")) {
    const figure = figureOf(el);
    if (figure) extendOrReact(el, moveNow(figure));
  }
}

// --- applying pushed sections ------------------------------------------------------------------
function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)(?:__Host-)?csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function fillCsrf(root = document) {
  const token = csrfToken();
  if (!token) return;
  for (const input of root.querySelectorAll("input.csrf")) if (!input.value) input.value = token;
}

function applySection(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  const fresh = template.content.firstElementChild;
  const current = fresh && document.getElementById(fresh.id);
  if (!current) return;
  // Keep drawn charts: move each plotted element into the new section, then update it.
  for (const placeholder of fresh.querySelectorAll("[data-figure]")) {
    const drawn = current.querySelector(`#${CSS.escape(placeholder.id)}`);
    if (drawn && drawn.data) placeholder.replaceWith(drawn);
  }
  // Keep what the viewer is in the middle of: a form with a file chosen or text typed.
  for (const form of current.querySelectorAll("form")) {
    if (!isDirty(form)) continue;
    const twin = [...fresh.querySelectorAll("form")].find((f) => f.getAttribute("action") === form.getAttribute("action"));
    if (twin) twin.replaceWith(form);
  }
  const open = new Set([...current.querySelectorAll("details[open]")].map((d) => d.id || d.textContent.slice(0, 40)));
  current.replaceWith(fresh);
  for (const d of fresh.querySelectorAll("details")) if (open.has(d.id || d.textContent.slice(0, 40))) d.open = true;
}

function isDirty(form) {
  if (form.dataset.sent) return false;
  if (form.contains(document.activeElement)) return true;
  return [...form.elements].some((el) => {
    if (el.type === "file") return el.files && el.files.length > 0;
    if (el.type === "hidden" || el.type === "submit") return false;
    if (el.tagName === "SELECT") return [...el.options].some((o) => o.selected !== o.defaultSelected);
    return "value" in el && el.value !== el.defaultValue;
  });
}

function announceVerdict(before, after) {
  const banner = document.getElementById("sec-verdict");
  if (banner) {
    banner.classList.remove("changed");
    void banner.offsetWidth; // restart the animation
    banner.classList.add("changed");
  }
  const word = after.replace("_", " ");
  document.title = `${word} · ${document.title.split(" · ").slice(1).join(" · ")}`;
  const toast = document.getElementById("toast") || document.body.appendChild(Object.assign(document.createElement("div"), { id: "toast", role: "alert" }));
  toast.textContent = `Verdict changed: ${before.replace("_", " ")} → ${word}`;
  toast.className = `toast toast-${after.toLowerCase()}`;
  clearTimeout(announceVerdict.timer);
  announceVerdict.timer = setTimeout(() => { toast.className = "toast hidden"; }, 15000);
}

function applyUpdate(message) {
  for (const html of Object.values(message.sections || {})) applySection(html);
  version = message.version;
  board.dataset.version = String(version);
  if (message.content) content = message.content;
  fillCsrf();
  drawCharts();
  describeTargets();
  if (message.verdict && verdict && message.verdict !== verdict.replace(" ", "_")) announceVerdict(verdict.replace(" ", "_"), message.verdict);
  if (message.verdict) verdict = message.verdict;
}

// --- the connection ----------------------------------------------------------------------------
function setLive(state, text) {
  if (!liveState) return;
  liveState.dataset.state = state;
  liveState.textContent = text;
}

let attempt = 0;
let offlineSince = null;
let lastHeard = 0;
let socket = null;

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const query = content ? `?content=${encodeURIComponent(content)}` : "";
  socket = new WebSocket(`${scheme}://${window.location.host}/ws/launches/${board.dataset.slug}/${query}`);
  socket.onopen = () => { attempt = 0; offlineSince = null; lastHeard = Date.now(); setLive("live", "live"); };
  socket.onmessage = (event) => {
    lastHeard = Date.now();
    const message = JSON.parse(event.data);
    if (message.type === "snapshot" || message.type === "update") applyUpdate(message);
    else if (message.type === "progress") onProgressMessage(message);
    if (liveState?.dataset.state !== "live") setLive("live", "live");
  };
  socket.onclose = () => {
    offlineSince = offlineSince || new Date();
    const at = offlineSince.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    setLive(attempt >= 3 ? "offline" : "reconnecting", attempt >= 3 ? `offline since ${at}` : "reconnecting…");
    // Exponential backoff with full jitter, capped at 5 s: a room of pages comes back within
    // seconds of the server, without all knocking at once.
    const delay = 250 + Math.random() * Math.min(5000, 500 * 2 ** attempt);
    attempt += 1;
    setTimeout(connect, delay);
  };
}

// A socket that stays silent past two heartbeats is dead even if the browser has not noticed.
setInterval(() => {
  if (socket && socket.readyState === WebSocket.OPEN && Date.now() - lastHeard > 40000) {
    setLive("reconnecting", "reconnecting…");
    socket.close();
  }
}, 5000);

// --- forms: in place, with the CSRF token from the cookie --------------------------------------
async function submitInPlace(form, submitter = null) {
  fillCsrf(form);
  // Sent: the change it makes arrives by push, and this form must then give way to the new one
  // (its button keeps the focus, which would otherwise count as being in the middle of it).
  form.dataset.sent = "1";
  const response = await fetch(form.action, {
    method: "POST",
    body: new FormData(form, submitter), // with the button pressed, when it says which choice
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
  });
  if (!response.ok) delete form.dataset.sent; // refused: what was typed is kept for a retry
  let data = {};
  try { data = await response.json(); } catch { /* not JSON */ }
  flash(data.message || data.error || (response.ok ? "Done." : `Refused (HTTP ${response.status}).`), response.ok ? "success" : "warning");
}

function flash(text, level) {
  let list = document.querySelector("main .messages");
  if (!list) {
    list = document.createElement("ul");
    list.className = "messages";
    board.before(list);
  }
  const item = document.createElement("li");
  item.className = `msg-${level}`;
  item.textContent = text;
  list.replaceChildren(item);
}

// --- uploads: bytes sent (XHR progress), then parsing progress (pushed, polled as a fallback) ---
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
      if (run.status === "done") {
        showUpload(run.test ? `Run #${runId} ingested as evidence for ${run.test}.` : `Run #${runId} ingested; its file does not say which test it is: choose one on its page.`, null);
        return;
      }
      if (run.status === "failed") { showUpload(`Run #${runId} could not be used: ${run.error}`, null); return; }
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
  fillCsrf(form);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", form.action);
  xhr.setRequestHeader("Accept", "application/json");
  xhr.setRequestHeader("X-CSRFToken", csrfToken());
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
  if (!board || !board.contains(form)) return;
  event.preventDefault();
  if (form.id === "upload-form") uploadWithProgress(form);
  else submitInPlace(form, event.submitter);
});

// A select that says so submits its form when changed (the page's CSP allows no inline
// handlers); its form keeps a button for whoever has no script.
document.addEventListener("change", (event) => {
  const select = event.target.closest?.("select[data-autosubmit]");
  if (select?.form) select.form.requestSubmit();
});

fillCsrf();
drawCharts();
describeTargets();
setInterval(() => { describeTargets(); drawCharts(); }, 60000);
if (board) connect();
