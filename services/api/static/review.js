// The review page: a reviewer labels posts drawn for review (/v1/review/*) with the keyboard or the buttons.
// The token lives in sessionStorage (this tab only) and travels in the Authorization header: no cookie.
"use strict";
(() => {
  const KEY = "pulse-reviewer-token";
  const $ = (id) => document.getElementById(id);
  const keys = { f: "FAVOR", a: "AGAINST", n: "NONE", o: "OFF_TARGET", s: "SKIP" };
  let item = null;
  let busy = false;
  let done = 0;

  const say = (text, error = false) => { $("message").textContent = text; $("message").classList.toggle("error", error); };
  const headers = () => ({ Authorization: `Bearer ${sessionStorage.getItem(KEY)}`, "Content-Type": "application/json" });

  async function call(path, options = {}) {
    const r = await fetch(path, { ...options, headers: headers() });
    if (r.status === 401) { sessionStorage.removeItem(KEY); showLogin(); throw new Error("That token was not accepted."); }
    if (r.status === 429) throw new Error(`Too fast: wait ${r.headers.get("Retry-After") || "a few"} s.`);
    if (!r.ok && r.status !== 410) {
      const body = await r.json().catch(() => ({}));
      throw new Error(body.detail || `The server answered ${r.status}.`);
    }
    return r;
  }

  function showLogin() { $("login").hidden = false; $("work").hidden = true; $("token").focus(); }

  function show(next) {
    item = next;
    const buttons = document.querySelectorAll("#choices button");
    buttons.forEach((b) => { b.disabled = !item; });
    if (!item) {
      $("question").textContent = "Nothing to review right now";
      $("text").textContent = "";
      $("meta").textContent = "New posts are drawn as they are counted: try again in a while.";
      return;
    }
    $("question").textContent = `What is this post's stance toward ${item.target} (${item.party})?`;
    $("text").textContent = item.text;
    const meta = $("meta");
    meta.textContent = [item.author, item.source, item.created_at && new Date(item.created_at).toLocaleString()]
      .filter(Boolean).join(" · ");
    if (item.url) {
      const a = document.createElement("a");
      a.href = item.url; a.target = "_blank"; a.rel = "noopener noreferrer"; a.textContent = "the original";
      meta.append(" · ", a);
    }
  }

  async function next() {
    const target = $("target").value;
    const r = await call("/v1/review/next" + (target ? `?target=${encodeURIComponent(target)}` : ""));
    show((await r.json()).item);
  }

  async function label(value) {
    if (!item || busy) return;
    busy = true;
    try {
      const r = await call("/v1/review/labels", {
        method: "POST", body: JSON.stringify({ id: item.id, target: item.target, label: value }) });
      await next();  // the count moves once the next post is up: keys pressed before then are not taken
      if (r.status === 410) say("That post has left the queue; here is the next.");
      else { done += 1; $("done").textContent = `${done} labelled in this session`; say(""); }
    } catch (e) {
      say(e.message, true);
    } finally {
      busy = false;
    }
  }

  // How many posts people have labelled per target (everyone's, not this session's): for a target the model does
  // not rate, these labels are where its training set starts.
  async function tally(targets) {
    const figures = (await (await call("/v1/review/quality")).json()).targets;
    $("tally").replaceChildren(...targets.map((t) => {
      const li = document.createElement("li");
      const n = document.createElement("b");
      n.textContent = (figures[t.name] ? figures[t.name].items : 0).toLocaleString();
      li.dataset.target = t.name;
      li.append(n, ` about ${t.name}${t.scored ? "" : " (not rated yet: these labels start its training set)"}`);
      return li;
    }));
  }

  async function start() {
    $("login").hidden = true; $("work").hidden = false;
    try {
      const targets = (await (await fetch("/v1/targets")).json()).targets;
      const select = $("target");
      if (select.options.length === 1) {
        for (const t of targets) select.add(new Option(t.name + (t.scored ? "" : " (not rated)"), t.name));
      }
      await tally(targets);
      await next();
    } catch (e) {
      say(e.message, true);
    }
  }

  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("token").value.trim());
    $("token").value = "";
    $("token").blur();  // the shortcuts are ignored while a field has the focus
    start();
  });
  $("target").addEventListener("change", () => next().catch((e) => say(e.message, true)));
  $("choices").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-label]");
    if (b) label(b.dataset.label);
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || $("work").hidden) return;
    if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement) return;
    const value = keys[ev.key.toLowerCase()];
    if (value) { ev.preventDefault(); label(value); }
  });
  if (sessionStorage.getItem(KEY)) start(); else showLogin();
})();
