"use strict";
// Live view: one websocket per window; every snapshot re-renders the party cards and the recent tweets.
const partiesEl = document.getElementById("parties");
const recentEl = document.getElementById("recent");
const statusEl = document.getElementById("status");
let windowName = new URLSearchParams(location.search).get("window") || "15m";
let socket = null;

const pct = (n, total) => (total ? (100 * n / total).toFixed(1) : 0) + "%";
const fmtNet = (net) => net === null ? "–" : (net > 0 ? "+" : "") + net.toFixed(2);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));

function bar(c) {
  return `<div class="bar"><span class="f" style="width:${pct(c.favor, c.total)}"></span>` +
         `<span class="a" style="width:${pct(c.against, c.total)}"></span>` +
         `<span class="n" style="width:${pct(c.none, c.total)}"></span></div>`;
}

// Shares corrected for the model's measured error rates, with their 95% intervals (README: Corrected shares).
const share = (s) => `${Math.round(100 * s.estimate)}% <small>(${Math.round(100 * s.low)}–${Math.round(100 * s.high)})</small>`;
function corrected(c) {
  if (!c.shares) return "";
  return `<div class="corrected" data-field="shares" title="estimated true shares, corrected for the model's error rates; 95% intervals">
    corrected: favor ${share(c.shares.favor)} · against ${share(c.shares.against)} · none ${share(c.shares.none)}</div>`;
}

function render(snap) {
  partiesEl.innerHTML = Object.entries(snap.parties).map(([party, c]) => `
    <article class="party" data-party="${esc(party)}">
      <h2>${esc(party)} <span class="net ${c.net > 0 ? "pos" : c.net < 0 ? "neg" : ""}" data-field="net">${fmtNet(c.net)}</span></h2>
      ${bar(c)}
      <div class="counts"><span>favor <b data-field="favor">${c.favor}</b></span>
        <span>against <b data-field="against">${c.against}</b></span>
        <span>none <b data-field="none">${c.none}</b></span><span>total <b data-field="total">${c.total}</b></span></div>
      ${corrected(c)}
      ${c.targets.map((t) => { const tc = snap.targets[t]; return `
        <div class="target" data-target="${esc(t)}"><div class="name"><span>${esc(t)}</span>
          <span>${tc.total} ${tc.total === 1 ? "tweet" : "tweets"} · net ${fmtNet(tc.net)}</span></div>${bar(tc)}</div>`; }).join("")}
    </article>`).join("");
}

async function refreshRecent() {
  try {
    const r = await fetch("/v1/tweets/recent?limit=12");
    const body = await r.json();
    recentEl.innerHTML = body.tweets.map((t) => `<li class="${esc(t.label)}">${esc(t.text)}
      <div class="meta">${esc(t.label)} toward ${esc(t.target)} (${esc(t.party)}) · p=${(t.probs[t.label] || 0).toFixed(2)}</div></li>`).join("");
  } catch (e) { /* the next snapshot retries */ }
}

function connect() {
  if (socket) socket.close();
  const proto = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${proto}://${location.host}/v1/pulse/stream?window=${encodeURIComponent(windowName)}`);
  const mine = socket;
  socket.onopen = () => { statusEl.textContent = "live"; statusEl.className = "status on"; };
  socket.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "snapshot") { render(msg); refreshRecent(); }
  };
  socket.onclose = () => {
    if (mine !== socket) return;
    statusEl.textContent = "reconnecting…"; statusEl.className = "status off";
    setTimeout(connect, 2000);
  };
}

document.querySelectorAll("#windows button").forEach((b) => {
  b.classList.toggle("active", b.dataset.window === windowName);
  b.onclick = () => {
    windowName = b.dataset.window;
    document.querySelectorAll("#windows button").forEach((x) => x.classList.toggle("active", x === b));
    history.replaceState(null, "", `?window=${windowName}`);
    connect();
  };
});
connect();
