// Times that move with the clock, in the reader's browser: a page is rendered once per change,
// so "in 3 h" or "late by 2 days" is worked out here, not baked into the cached bytes.

export function span(ms) {
  const minutes = Math.round(Math.abs(ms) / 60000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ""}`;
  return `${Math.floor(hours / 24)} days`;
}

function clock(ms) {
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

// <p class="forecast" data-remaining="MIN" data-pace=X data-timed=N data-target=ISO
// data-opens=ISO data-closes=ISO>: when the required work ends at the pace of the tasks done so
// far, counted from now, against the launch window (else the target).
export function describeForecasts(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll(".forecast[data-remaining]")) {
    const remaining = Number(el.dataset.remaining) * 60000;
    const target = Date.parse(el.dataset.target || "");
    const opens = Date.parse(el.dataset.opens || "");
    const closes = Date.parse(el.dataset.closes || "");
    const pace = Number(el.dataset.pace || 1);
    const timed = Number(el.dataset.timed || 0);
    const finish = now + remaining;
    if (!remaining) { el.textContent = "All the required work is done."; el.classList.remove("late"); continue; }
    const how = timed ? `At the pace so far (${timed} timed task${timed > 1 ? "s" : ""} took ${pace.toFixed(2)}× their estimates)` : "At the estimates";
    let text = `${how}, the required work ends about ${clock(finish)}`;
    let late = false;
    if (!Number.isNaN(opens) && !Number.isNaN(closes)) {
      if (finish <= opens) text += `, ${span(opens - finish)} before the launch window opens.`;
      else if (finish <= closes) text += `, inside the launch window (${span(finish - opens)} after it opens).`;
      else { text += `, ${span(finish - closes)} after the launch window closes: it misses the window.`; late = true; }
    } else if (!Number.isNaN(target)) {
      late = finish > target;
      text += late ? `, ${span(finish - target)} after the target: the plan is late.` : `, ${span(target - finish)} before the target.`;
    } else text += ".";
    el.classList.toggle("late", late);
    el.textContent = text;
  }
}

// <time class="target" datetime=ISO data-verdict=GO|NO_GO|PENDING>: the launch's target.
export function describeTargets(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll("time.target")) {
    const at = Date.parse(el.getAttribute("datetime"));
    if (Number.isNaN(at)) continue;
    let note = el.parentElement.querySelector(".target-note");
    if (!note) {
      note = document.createElement("span");
      note.className = "target-note";
      el.after(note);
    }
    const late = at < now && el.dataset.verdict !== "GO";
    note.textContent = at >= now ? ` (in ${span(at - now)})` : late ? ` (passed ${span(now - at)} ago, not ready: late)` : ` (${span(now - at)} ago)`;
    note.classList.toggle("late", late);
  }
  describeForecasts(root);
  describeWatches(root);
}

// <p class="watch-clock" data-live-at=ISO data-ends-at=ISO>: how far the watch after GO is.
export function describeWatches(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll(".watch-clock[data-live-at]")) {
    const live = Date.parse(el.dataset.liveAt);
    const ends = Date.parse(el.dataset.endsAt);
    if (Number.isNaN(live) || Number.isNaN(ends)) continue;
    const left = ends > now ? `, ${span(ends - now)} to go` : ", its time is up";
    el.textContent = `Monitoring ${span(Math.max(now - live, 0))} of ${span(ends - live)}${left}.`;
  }
}
