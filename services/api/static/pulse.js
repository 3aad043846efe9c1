"use strict";
// Live view: one websocket per window; every snapshot re-renders the party cards and the recent tweets.
const partiesEl = document.getElementById("parties");
const recentEl = document.getElementById("recent");
const statusEl = document.getElementById("status");
const updatedEl = document.getElementById("updated");
const filterEl = document.getElementById("filter");
const params = new URLSearchParams(location.search);
let windowName = params.get("window") || "15m";
const HISTORY_EVERY_MS = 1000 * Number(params.get("history_every") || 15);  // ?history_every=S: chart refresh
let socket = null;
let unscored = new Set();  // targets the served model does not rate (GET /v1/targets)
let lastSnapshotAt = 0, lastTotal = -1, lastModels = null;
const STALE_AFTER_MS = 30000;  // the server pushes at least every heartbeat (10 s): 30 s of silence is stale

const pct = (n, total) => (total ? (100 * n / total).toFixed(1) : 0) + "%";
const fmtNet = (net) => net === null ? "–" : (net > 0 ? "+" : "") + net.toFixed(2);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));

function bar(c) {
  const label = c.total ? `favor ${pct(c.favor, c.total)}, against ${pct(c.against, c.total)}, none ${pct(c.none, c.total)}` : "no tweets";
  return `<div class="bar" role="img" aria-label="${label}" title="${label}"><span class="f" style="width:${pct(c.favor, c.total)}"></span>` +
         `<span class="a" style="width:${pct(c.against, c.total)}"></span>` +
         `<span class="n" style="width:${pct(c.none, c.total)}"></span></div>`;
}

// The figure to quote (README: Corrected shares): the corrected shares with their 95% intervals where the model's
// errors can be corrected, else the shares of its own labels, marked as such; the sentence says which and why.
const whole = (x) => Math.round(100 * x);
const figure = (s, word) => `<span class="fig ${word}"><b>${whole(s.estimate)}%</b> ${word === "favor" ? "in favour" : "against"}` +
  ` <small>${whole(s.low)}–${whole(s.high)}%</small></span>`;
function headline(h) {
  if (!h) return `<div class="headline empty" data-field="headline">nothing rated in this window</div>`;
  const live = h.basis === "corrected" && h.error_rates === "live";
  const basis = h.basis !== "corrected" ? "the model's labels, uncorrected"
    : live ? "corrected for the model's errors on this stream" : "corrected for the model's errors";
  return `<div class="headline${h.enough_posts ? "" : " few"}" data-field="headline" data-basis="${esc(h.basis)}">
    <div class="figs">${figure(h.favor, "favor")}${figure(h.against, "against")}</div>
    <div class="tags"><span class="basis ${esc(h.basis)}">${basis}</span>${h.enough_posts ? "" : ` <span class="basis few">too few posts to quote</span>`}</div><p class="sentence" data-field="sentence">${esc(h.sentence)}</p></div>`;
}

// How well the model labels a target, measured when it was built (GET /v1/model), behind an info button (a
// disclosure button: the panel opens below the target's row).
let quality = {}, qualityCaveat = "", openInfo = new Set(), liveQuality = {}, liveNeeded = 0;
const panelId = (t) => "info-" + t.replace(/[^A-Za-z0-9]+/g, "-");
const infoButton = (t) => `<button type="button" class="info-btn" data-info="${esc(t)}" aria-controls="${panelId(t)}"
  aria-expanded="${openInfo.has(t)}" aria-label="how far to trust the figures for ${esc(t)}" title="how far to trust this">i</button>`;
function infoPanel(t, tc) {
  const measured = quality[t] || [];
  const rows = measured.length ? `<ul>${measured.map((m) => `<li>On ${m.posts.toLocaleString()} ${esc(m.about)}
      (<abbr title="${esc(m.evaluation_set)}">${esc(m.name)}</abbr>), it agreed with the people who labelled them on
      <b>${Math.round(m.accuracy)}%</b> (macro-F1 ${m.macro_f1.toFixed(0)}).</li>`).join("")}</ul>`
    : `<p>Never measured: no labelled posts about ${esc(t)} exist here.</p>`;
  const live = liveQuality[t];
  const pct = (x) => `${Math.round(100 * x)}%`;
  const onStream = !live ? "" : `<p data-field="live-quality"><b>On this stream:</b> people reviewed
      ${live.reviewed.toLocaleString()} ${live.reviewed === 1 ? "post" : "posts"} about ${esc(t)} drawn at random from
      those counted${live.accuracy === null ? "." : `; the model agreed with them on <b>${pct(live.accuracy)}</b>
      (${pct(live.accuracy_low)}–${pct(live.accuracy_high)}) of ${live.rated.toLocaleString()} it rated${
      live.macro_f1 === null || live.macro_f1 === undefined ? "" : `, macro-F1 <b>${live.macro_f1.toFixed(0)}</b>
      (${live.macro_f1_low.toFixed(0)}–${live.macro_f1_high.toFixed(0)})`}.`}
      ${live.kappa === null ? "" : `Two reviewers agreed with each other at a kappa of ${live.kappa.toFixed(2)}
      (${live.double_reviewed.toLocaleString()} posts).`}
      ${live.enough ? "The shares are corrected with these error rates." : `Too few to go by yet: the figures
      below guide until ${liveNeeded.toLocaleString()} are reviewed.`}</p>`;
  return `<div class="panel" id="${panelId(t)}" data-panel="${esc(t)}"${openInfo.has(t) ? "" : " hidden"}>
      ${tc && tc.headline ? `<p>${esc(tc.headline.sentence)}</p>` : ""}
      ${onStream}<p><b>How well the model labels ${esc(t)}${live ? " on the labelled datasets" : ""}:</b></p>${rows}
      <p class="caveat">${esc(qualityCaveat)} <a href="/v1/model/card" target="_blank" rel="noopener">Model card</a></p></div>`;
}
const shortHeadline = (h) => !h ? "" : ` · <span class="short" data-field="headline" data-basis="${esc(h.basis)}" title="${esc(h.sentence)}">` +
  `${whole(h.favor.estimate)}% for · ${whole(h.against.estimate)}% against${h.basis === "corrected" ? "" : " (uncorrected)"}</span>`;

const provenanceEl = document.getElementById("provenance");
const SOURCE_NAMES = {bluesky: "Bluesky", mastodon: "Mastodon", x: "X", http: "posts sent to the API",
                      replay: "a replayed file", demo: "the bundled demo sample (not live posts)",
                      "demo-research": "a demo replay of research tweets from 2016–2020 (not live posts)", unnamed: "unnamed sources"};
// What is counted, so a reader can say where the figures come from: every source, its posts, since when.
function provenance(snap) {
  const sources = snap.sources || [];
  if (!sources.length) { provenanceEl.textContent = "Nothing counted yet."; return; }
  provenanceEl.innerHTML = "Counted: " + sources.map((s) =>
    `<span data-source="${esc(s.name)}"><b>${s.posts.toLocaleString()}</b> ${s.posts === 1 ? "post" : "posts"} from ${esc(SOURCE_NAMES[s.name] || s.name)} since ${esc(when(s.since, true))}</span>`).join("; ") +
    (snap.models && snap.models.length ? `; labelled by model ${snap.models.map(esc).join(" and ")}` : "") + ".";
  provenanceEl.classList.toggle("demo", sources.some((s) => s.name.startsWith("demo")));
}

function render(snap) {
  provenance(snap);
  partiesEl.innerHTML = Object.entries(snap.parties).map(([party, c]) => `
    <article class="party" data-party="${esc(party)}">
      <h2>${esc(party)} <span class="net ${c.net > 0 ? "pos" : c.net < 0 ? "neg" : ""}" data-field="net" title="net stance: (favor − against) / (favor + against) of the model's labels">net ${fmtNet(c.net)}</span></h2>
      ${headline(c.headline)}
      ${bar(c)}
      <div class="counts"><span>favor <b data-field="favor">${c.favor}</b></span>
        <span>against <b data-field="against">${c.against}</b></span>
        <span>none <b data-field="none">${c.none}</b></span><span>total <b data-field="total">${c.total}</b></span></div>
      <div class="voice"><span data-field="voice" title="the party's distinct posts over all parties' in the window: a post about two of its candidates counts once">share of voice ${c.voice === null || c.voice === undefined ? "–" : (100 * c.voice).toFixed(1) + "%"}</span>
        <span data-field="change">${change(party)}</span></div>
      ${c.targets.map((t) => { const tc = snap.targets[t], notRated = unscored.has(t) || (tc.unrated > 0 && !tc.total); return `
        <div class="target" data-target="${esc(t)}"><div class="name"><span>${esc(t)} ${infoButton(t)}</span>
          ${notRated ? `<span class="unscored" data-field="unscored">not rated: ${tc.unrated} ${tc.unrated === 1 ? "post" : "posts"} (the model has no training data for ${esc(t)})</span>`
            : `<span>${tc.total} ${tc.total === 1 ? "post" : "posts"}${shortHeadline(tc.headline)}</span>`}</div>${infoPanel(t, notRated ? null : tc)}${notRated ? "" : bar(tc)}</div>`; }).join("")}
    </article>`).join("");
}

const timeOf = (t) => new Date(t.created_at || t.scored_at * 1000).toLocaleTimeString();
// The words behind the label, marked in the text: toward the label underlined bold, against it struck through.
function highlighted(t) {
  // only the words that matter next to the strongest: in a short post every word is in the top 6
  const strongest = Math.max(0, ...(t.explanation || []).map(([, c]) => Math.abs(c)));
  const words = new Map((t.explanation || []).filter(([, c]) => Math.abs(c) >= 0.25 * strongest));
  return t.text.split(/(\s+)/).map((part) => {
    const key = part.toLowerCase().replace(/^[^\w#@]+|[^\w]+$/g, "");
    const c = words.has(part.toLowerCase()) ? words.get(part.toLowerCase()) : words.get(key);
    if (c === undefined) return esc(part);
    const how = t.explanation_method === "occlusion" ? "probability drop without it" : "n-gram contribution";
    return `<mark class="${c > 0 ? "toward" : "away"}" title="${c > 0 ? "toward" : "away from"} ${esc(t.label)} (${how} ${c.toFixed(2)})">${esc(part)}</mark>`;
  }).join("");
}

// Below this calibrated probability a label is marked as unsure: if the calibration holds, more than two in five
// such labels are wrong.
const LOW_CONFIDENCE = 0.6;
// A Bluesky author whose handle ingest has not yet seen comes as a DID: named by the network, not the opaque id
// (the link to the original shows the profile).
const authorName = (a) => !a ? "unknown author" : a.startsWith("did:") ? "a Bluesky account" : a;

async function refreshRecent() {
  try {
    const r = await fetch("/v1/tweets/recent?limit=12" + (filterEl.value ? "&" + filterEl.value : ""));
    const body = await r.json();
    recentEl.innerHTML = body.tweets.map((t) => {
      const p = t.probs[t.label] || 0, low = p < LOW_CONFIDENCE, url = t.url;
      return `<li class="${esc(t.label)}${low ? " low" : ""}">${highlighted(t)}
      <div class="meta"><b>${esc(t.label)}</b> toward ${esc(t.target)} (${esc(t.party)}) ·
        <span data-field="confidence" title="the model's calibrated probability of this label">confidence ${p.toFixed(2)}${low ? " (low: the model is unsure)" : ""}</span>
        · <span data-field="author">${esc(authorName(t.author))}</span> · <time>${esc(timeOf(t))}</time>${url ? ` · <a href="${esc(url)}" rel="noopener noreferrer" target="_blank">original</a>` : ""}</div></li>`;
    }).join("");
  } catch (e) { /* the next snapshot retries */ }
}

// History: one request per party, refreshed at most every HISTORY_EVERY_MS while counts move (the API answers 304
// when nothing changed). The chart shows the chosen window (15 min at least, so a short window still shows a
// trend): net stance per party as lines, posts per step as shaded steps. Twice the window is fetched, so the
// volume change against the previous window is known. Or an absolute range chosen with the picker.
const MINUTE = 60, HOUR = 3600;
const VIEWS = {  // window → [shown seconds, step seconds, words, points compared for the change]
  "1m": [15 * MINUTE, MINUTE, "last 15 min, by minute", 1], "5m": [15 * MINUTE, MINUTE, "last 15 min, by minute", 5],
  "15m": [15 * MINUTE, MINUTE, "last 15 min, by minute", 15], "1h": [HOUR, MINUTE, "last hour, by minute", 60],
  "24h": [24 * HOUR, HOUR, "last 24 hours, by hour", 24], "all": [7 * 24 * HOUR, HOUR, "last 7 days, by hour", 0]};
const COLOURS = ["#1f4e9c", "#b3261e", "#6a3d9a", "#b15928", "#1b7a4a"];
const duration = (sec) => sec % HOUR ? `${sec / MINUTE}m` : `${sec / HOUR}h`;
let series = {}, fetched = {}, chart = null, lastHistory = 0, pendingHistory = null, range = null;  // range: {start, end, step} (s)

function change(party) {
  const s = fetched[party], per = VIEWS[windowName][3];
  if (range || !s || !per || s.length < 2 * per) return "";
  const now = s.slice(-per).reduce((n, p) => n + p.total, 0), before = s.slice(-2 * per, -per).reduce((n, p) => n + p.total, 0);
  if (!before) return now ? "new activity" : "";
  const d = Math.round(100 * (now - before) / before);
  return `${d >= 0 ? "▲ +" : "▼ "}${d}% vs previous ${windowName}`;
}

// The step of an absolute range: the finest that keeps the chart readable (at most 300 points); whole hours once
// the range reaches back past a day (minute buckets are kept 26 hours).
function rangeStep(start, end) {
  const old = Date.now() / 1000 - start > 24 * HOUR;
  return [MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 24 * HOUR]
    .find((step) => (!old || step % HOUR === 0) && (end - start) / step <= 300) || 24 * HOUR;
}

function historyQuery() {
  if (range) return `start=${range.start}&end=${range.end}&step=${duration(range.step)}`;
  const [shown, step, , per] = VIEWS[windowName];
  return `window=${duration(per ? 2 * shown : shown)}&step=${duration(step)}`;
}

async function refreshHistory(parties) {
  const wait = HISTORY_EVERY_MS - (Date.now() - lastHistory);
  if (wait > 0) {  // too soon: once, when the interval is up
    if (!pendingHistory) pendingHistory = setTimeout(() => { pendingHistory = null; refreshHistory(parties); }, wait);
    return;
  }
  lastHistory = Date.now();
  try {
    const query = historyQuery();
    const results = await Promise.all(parties.map((p) =>
      fetch(`/v1/pulse/history/party/${encodeURIComponent(p)}?${query}`).then((r) => r.json())));
    fetched = Object.fromEntries(parties.map((p, i) => [p, results[i].points]));
    const keep = range ? Infinity : VIEWS[windowName][0] / VIEWS[windowName][1];
    series = Object.fromEntries(parties.map((p) => [p, fetched[p].slice(-keep)]));
    drawChart(parties);
  } catch (e) { /* the next snapshot retries */ }
}

const when = (t, withDate) => new Date(t * 1000).toLocaleString([], withDate
  ? {dateStyle: "medium", timeStyle: "short"} : {timeStyle: "short"});
function chartTitle() {
  if (!range) return VIEWS[windowName][2];
  const words = {[MINUTE]: "minute", [5 * MINUTE]: "5 min", [15 * MINUTE]: "quarter hour", [HOUR]: "hour",
                 [3 * HOUR]: "3 hours", [6 * HOUR]: "6 hours", [24 * HOUR]: "day"};
  return `${when(range.start, true)} – ${when(range.end, true)}, by ${words[range.step] || duration(range.step)}`;
}

// A legend that reads the latest point while the pointer is off the chart ("Democrats: --" said nothing).
const latest = (u, sidx) => { const d = u.data[sidx]; for (let i = d.length - 1; i >= 0; i--) if (d[i] !== null) return d[i]; return null; };
const legendValue = (fmt) => (u, v, sidx, idx) => { const x = idx === null ? latest(u, sidx) : v; return x === null ? "–" : fmt(x); };

function drawChart(parties) {
  const el = document.getElementById("chart");
  document.getElementById("history-range").textContent = chartTitle();
  const first = series[parties[0]] || [];
  const data = [first.map((p) => p.start), ...parties.map((p) => (series[p] || []).map((x) => x.net)),
                ...parties.map((p) => (series[p] || []).map((x) => x.posts))];
  const narrow = (el.clientWidth || 800) < 500;
  const opts = {width: Math.max(300, el.clientWidth || 800), height: narrow ? 260 : 240,
    scales: {y: {range: [-1, 1]}, posts: {range: (u, lo, hi) => [0, Math.max(4, hi * 1.1)]}},
    axes: narrow  // on a phone the axes keep their ticks, not their titles: the plot keeps the width
      ? [{}, {scale: "y", size: 40}, {scale: "posts", side: 1, grid: {show: false}, size: 36}]
      : [{}, {label: "net stance", scale: "y"}, {label: "posts per step", scale: "posts", side: 1, grid: {show: false}}],
    legend: {live: true},
    series: [{value: (u, v, sidx, idx) => idx === null ? "latest" : when(v, range !== null)},
      ...parties.map((p, i) => ({label: `${p} net`, scale: "y", stroke: COLOURS[i % COLOURS.length], width: 2,
                                 dash: i % 2 ? [6, 3] : undefined, spanGaps: true, value: legendValue(fmtNet)})),
      ...parties.map((p, i) => ({label: `${p} posts`, scale: "posts", stroke: COLOURS[i % COLOURS.length] + "99",
                                 fill: COLOURS[i % COLOURS.length] + "22", width: 1,
                                 paths: uPlot.paths.stepped({align: 1}), value: legendValue((n) => n.toLocaleString())}))]};
  if (chart) chart.destroy();
  chart = new uPlot(opts, data, el);
  requestAnimationFrame(placeMarkers);  // after uPlot has sized its plot area
  el.dataset.points = String(first.length);
  el.dataset.total = String(parties.reduce((n, p) => n + (series[p] || []).reduce((m, x) => m + x.total, 0), 0));
  el.dataset.posts = String(parties.reduce((n, p) => n + (series[p] || []).reduce((m, x) => m + x.posts, 0), 0));
}

// Export: what the chart shows (every party, one file) and the latest posts, as CSV with ISO 8601 times.
function seriesCsv() {
  const cols = ["favor", "against", "none", "total", "net", "posts"];
  const rows = Object.entries(series).flatMap(([party, points]) => points.map((p) =>
    [JSON.stringify(party), new Date(p.start * 1000).toISOString().replace(".000Z", "Z"),
     ...cols.map((c) => p[c] === null ? "" : p[c])].join(",")));
  return ["party,start," + cols.join(","), ...rows].join("\n") + "\n";
}
document.getElementById("export-series").onclick = () => {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([seriesCsv()], {type: "text/csv"}));
  a.download = `pulse-series-${range ? new Date(range.start * 1000).toISOString().slice(0, 16).replace(":", "") : windowName}.csv`;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
};
const exportPosts = document.getElementById("export-posts");
const postsCsvLink = () => { exportPosts.href = "/v1/tweets/recent?limit=200&format=csv" + (filterEl.value ? "&" + filterEl.value : ""); };

// The range picker: an absolute range (local times) instead of the live window; "live" goes back.
const fromEl = document.getElementById("range-from"), toEl = document.getElementById("range-to");
const localInput = (t) => { const d = new Date(t * 1000); d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 16); };
document.getElementById("range-form").onsubmit = (ev) => {
  ev.preventDefault();
  const start = Math.floor(new Date(fromEl.value).getTime() / 1000), end = Math.floor(new Date(toEl.value).getTime() / 1000);
  const msg = document.getElementById("range-error");
  if (!(start < end)) { msg.textContent = "the start must be before the end"; return; }
  if (Date.now() / 1000 - start > 30 * 24 * HOUR) { msg.textContent = "ranges reach back 30 days at most"; return; }
  msg.textContent = "";
  range = {start, end, step: rangeStep(start, end)};
  document.getElementById("range-live").hidden = false;
  lastHistory = 0; refreshHistory(Object.keys(fetched).length ? Object.keys(fetched) : knownParties);
};
document.getElementById("range-live").onclick = () => {
  range = null; document.getElementById("range-live").hidden = true;
  lastHistory = 0; refreshHistory(knownParties);
};
function resetPicker() {
  const now = Date.now() / 1000;
  fromEl.value = localInput(now - VIEWS[windowName][0]); toEl.value = localInput(now);
}
let knownParties = [];

// Spikes arrive over the websocket (on connect and when they change): listed under the chart and marked on it at
// the time they start; both open the posts behind them.
let spikes = [];
const spikeText = (s) => s.kind === "volume" ? `${s.volume} posts in 5 min, usually ${Math.round(s.baseline_volume)}`
  : `net ${fmtNet(s.net)}, usually ${fmtNet(s.baseline_net)}`;

function showPosts(target) {
  filterEl.value = "target=" + encodeURIComponent(target);
  refreshRecent(); postsCsvLink();
  recentEl.scrollIntoView({block: "nearest"});
}

function renderSpikes() {
  const el = document.getElementById("spikes");
  el.innerHTML = spikes.length ? "Spikes now: " + spikes.map((s) =>
    `<a href="#recent" data-spike="${esc(s.target)}">${esc(s.target)} (${esc(spikeText(s))})</a>`).join(" · ") : "";
  el.querySelectorAll("[data-spike]").forEach((a) => a.onclick = (ev) => { ev.preventDefault(); showPosts(a.dataset.spike); });
  placeMarkers();
}

function placeMarkers() {
  if (!chart) return;
  chart.over.querySelectorAll(".spike-marker").forEach((m) => m.remove());
  // On a phone a marker is the shape alone (the list under the chart names each spike), so none covers another.
  const parties = Object.keys(series), width = chart.over.clientWidth, taken = [], narrow = width < 420;
  for (const s of spikes) {
    const x = Math.min(Math.max(chart.valToPos(s.start, "x"), 0), width);
    const row = taken.filter((t) => Math.abs(t - x) < (narrow ? 24 : 80)).length;  // at the same time: stacked
    taken.push(x);
    const b = document.createElement("button"), what = `spike: ${s.target}, ${spikeText(s)}; show the posts`;
    b.type = "button"; b.className = "spike-marker"; b.dataset.target = s.target;
    b.textContent = narrow ? "▲" : "▲ " + s.target.split(" ").pop();  // shape and name: not the colour alone
    b.style.left = x + "px"; b.style.top = (2 + 24 * row) + "px";
    const half = narrow ? 12 : 60;
    b.style.transform = x > width - half ? "translateX(-100%)" : x < half ? "none" : "translateX(-50%)";  // inside
    b.style.borderColor = COLOURS[Math.max(0, parties.indexOf(s.party)) % COLOURS.length];
    b.title = what; b.setAttribute("aria-label", what);
    b.onclick = () => showPosts(s.target);
    chart.over.appendChild(b);
  }
}

async function loadModel() {
  try {
    const body = await (await fetch("/v1/model")).json();
    quality = Object.assign({}, ...body.models.map((m) => m.quality));
    liveQuality = Object.assign({}, ...body.models.map((m) => m.live_quality || {}));
    liveNeeded = body.live_quality_min_items || 0;
    qualityCaveat = body.caveat;
  } catch (e) { /* the info panels say the quality was never measured */ }
}
// Re-rendering replaces the cards: the open panels are remembered by target.
partiesEl.addEventListener("click", (ev) => {
  const button = ev.target.closest(".info-btn");
  if (!button) return;
  const t = button.dataset.info, open = !openInfo.has(t);
  if (open) openInfo.add(t); else openInfo.delete(t);
  button.setAttribute("aria-expanded", String(open));
  document.getElementById(button.getAttribute("aria-controls")).hidden = !open;
});

async function loadTargets() {
  try {
    const body = await (await fetch("/v1/targets")).json();
    unscored = new Set(body.targets.filter((t) => !t.scored).map((t) => t.name));
    filterEl.innerHTML = `<option value="">everyone</option>` +
      body.parties.map((p) => `<option value="party=${encodeURIComponent(p)}">${esc(p)}</option>`).join("") +
      body.targets.filter((t) => t.scored).map((t) => `<option value="target=${encodeURIComponent(t.name)}">${esc(t.name)}</option>`).join("");
  } catch (e) { /* targets stay unknown: every target is shown as rated */ }
}

function freshness() {
  if (!lastSnapshotAt) return;
  const stale = Date.now() - lastSnapshotAt > STALE_AFTER_MS;
  updatedEl.textContent = `updated ${new Date(lastSnapshotAt).toLocaleTimeString()}${stale ? " (stale)" : ""}`;
  updatedEl.classList.toggle("stale", stale);
}
setInterval(freshness, 5000);
filterEl.onchange = () => { refreshRecent(); postsCsvLink(); };

function connect() {
  if (socket) socket.close();
  const proto = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${proto}://${location.host}/v1/pulse/stream?window=${encodeURIComponent(windowName)}`);
  const mine = socket;
  socket.onopen = () => { statusEl.textContent = "live"; statusEl.className = "status on"; };
  socket.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "snapshot") {
      const models = (msg.models || []).join(" ");
      if (models !== lastModels) { lastModels = models; loadModel().then(() => render(msg)); }
      render(msg);
      lastSnapshotAt = Date.now(); freshness();
      const total = Object.values(msg.parties).reduce((n, c) => n + c.total, 0);
      knownParties = Object.keys(msg.parties);
      if (total !== lastTotal) { lastTotal = total; refreshRecent(); if (!range) refreshHistory(knownParties); }
    } else if (msg.type === "spikes") {
      spikes = msg.spikes; renderSpikes();
    }
  };
  socket.onclose = () => {
    if (mine !== socket) return;
    statusEl.textContent = "reconnecting…"; statusEl.className = "status off";
    setTimeout(connect, 2000);
  };
}

function pressed(active) {
  document.querySelectorAll("#windows button").forEach((x) => {
    x.classList.toggle("active", x === active);
    x.setAttribute("aria-pressed", String(x === active));
  });
}
document.querySelectorAll("#windows button").forEach((b) => {
  if (b.dataset.window === windowName) pressed(b);
  b.onclick = () => {
    windowName = b.dataset.window;
    pressed(b);
    history.replaceState(null, "", `?window=${windowName}`);
    lastTotal = -1; lastHistory = 0; range = null; document.getElementById("range-live").hidden = true; resetPicker();
    connect();
  };
});
resetPicker(); postsCsvLink();
loadTargets().then(connect);
