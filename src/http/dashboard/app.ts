/**
 * The dashboard's main module (served as `/dashboard/app.js`): the instance list (server-side
 * paging with continuation tokens, status and ID-prefix filters, counts per status) and the
 * instance page (payloads, failure chain, live timeline over the event stream, confirmed actions).
 * It only calls the JSON API, sending `x-refrain-key` when the server asks for a key. Plain browser
 * JavaScript kept as a string: no build step; `String.raw` keeps its backslashes as written.
 */

/** The ES module served at `/dashboard/app.js`. */
export const DASHBOARD_JS = String.raw`import { formatDuration, renderTimeline } from "./timeline.js";

const API = "/runtime/webhooks/durabletask";
const STATUSES = ["Pending", "Running", "Suspended", "Completed", "Failed", "Terminated", "ContinuedAsNew"];
const TERMINAL = new Set(["Completed", "Failed", "Terminated"]);
const main = document.getElementById("main");
const errorBox = document.getElementById("error");
const keyForm = document.getElementById("key-form");
const forgetKey = document.getElementById("forget-key");
const dialog = document.getElementById("confirm");
let key = sessionStorage.getItem("refrain-key") || "";
let cleanup = () => {};

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  fill(el, children, false);
  return el;
}

/** Appends (or, with replace, puts in place of the old ones) children, flattening nested arrays. */
function fill(el, children, replace = true) {
  const nodes = children.flat(Infinity).filter((c) => c !== undefined && c !== null && c !== false && c !== "");
  if (replace) el.replaceChildren(...nodes);
  else el.append(...nodes);
}

const enc = encodeURIComponent;
const badge = (status) => h("span", { class: "badge s-" + status }, status);
const time = (iso) => (iso ? new Date(iso).toLocaleString() : "");
const json = (value) => h("pre", {}, value === null || value === undefined ? "null" : JSON.stringify(value, null, 2));

function showError(err) {
  if (err && err.status === 401) return;
  errorBox.textContent = err instanceof Error ? err.message : String(err);
  errorBox.hidden = false;
}

function clearError() {
  errorBox.hidden = true;
}

function askForKey() {
  keyForm.hidden = false;
  main.replaceChildren();
  document.getElementById("key-input").focus();
}

keyForm.addEventListener("submit", (e) => {
  e.preventDefault();
  key = document.getElementById("key-input").value;
  sessionStorage.setItem("refrain-key", key);
  keyForm.hidden = true;
  route();
});
forgetKey.addEventListener("click", () => {
  sessionStorage.removeItem("refrain-key");
  key = "";
  askForKey();
});

/** Calls the API; throws an Error carrying the problem's detail when the answer is not 2xx. */
async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers);
  if (key) headers["x-refrain-key"] = key;
  const res = await fetch(API + path, Object.assign({}, options, { headers }));
  forgetKey.hidden = !key;
  if (res.ok) return res;
  let detail = res.status + " " + res.statusText;
  try {
    detail = (await res.json()).detail || detail;
  } catch {}
  const err = new Error(detail);
  err.status = res.status;
  if (res.status === 401) askForKey();
  throw err;
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  cleanup();
  cleanup = () => {};
  clearError();
  main.replaceChildren();
  const hash = location.hash || "#/";
  const m = /^#\/instances\/(.+)$/.exec(hash);
  if (m) showInstance(decodeURIComponent(m[1]));
  else showList(new URLSearchParams(hash.split("?")[1] || ""));
}

function listHash(f) {
  const q = new URLSearchParams();
  if (f.status) q.set("status", f.status);
  if (f.prefix) q.set("prefix", f.prefix);
  if (f.top !== 25) q.set("top", String(f.top));
  const s = q.toString();
  return "#/" + (s ? "?" + s : "");
}

function showList(params) {
  const f = { status: params.get("status") || "", prefix: params.get("prefix") || "", top: Number(params.get("top")) || 25 };
  const status = h("select", { id: "filter-status" }, h("option", { value: "" }, "All statuses"),
    STATUSES.map((s) => h("option", { value: s, selected: s === f.status }, s)));
  const prefix = h("input", { id: "filter-prefix", type: "search", placeholder: "ID prefix", value: f.prefix });
  const top = h("select", { id: "filter-top" }, [10, 25, 50, 100].map((n) => h("option", { value: n, selected: n === f.top }, n + " per page")));
  const form = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    go(listHash({ status: status.value, prefix: prefix.value.trim(), top: Number(top.value) }));
  } }, h("label", {}, "Status", status), h("label", {}, "ID prefix", prefix), top,
    h("button", { type: "submit" }, "Apply"), h("button", { type: "button", onclick: route }, "Refresh"));
  const counts = h("div", { class: "counts", id: "counts" }, h("span", { class: "muted" }, "counting…"));
  const tbody = h("tbody");
  const pageInfo = h("span", { class: "muted" });
  const prev = h("button", { type: "button", id: "prev-page", disabled: true }, "← Previous");
  const next = h("button", { type: "button", id: "next-page", disabled: true }, "Next →");
  main.append(h("div", { class: "card" }, form, counts),
    h("table", { id: "instances" }, h("thead", {}, h("tr", {}, ["Instance ID", "Name", "Status", "Created", "Last updated"].map((t) => h("th", {}, t)))), tbody),
    h("div", { class: "pager" }, prev, next, pageInfo));

  const filterQuery = f.prefix ? "instanceIdPrefix=" + enc(f.prefix) : "";
  api("/counts" + (filterQuery ? "?" + filterQuery : "")).then((r) => r.json()).then((c) => {
    const chip = (label, n, s) => h("button", { type: "button", class: "count" + (s === f.status ? " active" : ""), "data-status": s || "All",
      onclick: () => go(listHash(Object.assign({}, f, { status: s }))) }, s ? badge(s) : label, h("b", {}, String(n)));
    fill(counts, [chip("All", c.total, ""), STATUSES.filter((s) => c.counts[s] > 0 || s === f.status).map((s) => chip(s, c.counts[s], s)),
      c.complete ? "" : h("span", { class: "muted" }, "(counted the first " + c.total + " instances)")]);
  }).catch((err) => { counts.replaceChildren(h("span", { class: "muted" }, "counts unavailable")); showError(err); });

  const tokens = [undefined];
  let index = 0;
  async function load(i) {
    const q = ["top=" + f.top, "showInput=false"];
    if (f.status) q.push("runtimeStatus=" + enc(f.status));
    if (filterQuery) q.push(filterQuery);
    const headers = tokens[i] ? { "x-ms-continuation-token": tokens[i] } : {};
    try {
      const res = await api("/instances?" + q.join("&"), { headers });
      const list = await res.json();
      index = i;
      tokens[i + 1] = res.headers.get("x-ms-continuation-token") || undefined;
      tbody.replaceChildren(...list.map((s) => h("tr", {},
        h("td", { class: "mono" }, h("a", { href: "#/instances/" + enc(s.instanceId) }, s.instanceId)),
        h("td", {}, s.name), h("td", {}, badge(s.runtimeStatus)), h("td", {}, time(s.createdTime)), h("td", {}, time(s.lastUpdatedTime)))));
      if (list.length === 0) tbody.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No instances match.")));
      prev.disabled = i === 0;
      next.disabled = !tokens[i + 1];
      pageInfo.textContent = "page " + (i + 1);
    } catch (err) {
      showError(err);
    }
  }
  prev.addEventListener("click", () => load(index - 1));
  next.addEventListener("click", () => load(index + 1));
  load(0);
}

function failureChain(failure) {
  const out = [];
  for (let f = failure, depth = 0; f; f = f.cause, depth++) {
    out.push(h("div", { class: "cause" }, h("b", {}, (depth ? "caused by " : "") + f.name + ": "), f.message,
      f.code ? h("span", { class: "muted" }, " (" + f.code + ")") : "",
      f.stack ? h("details", {}, h("summary", {}, "stack"), h("pre", {}, f.stack)) : ""));
  }
  return out;
}

/** Opens the confirmation dialog; run() performs the action and may throw to keep it open. */
function confirmAction(title, text, fields, run, validate) {
  const ok = document.getElementById("confirm-ok");
  const problem = document.getElementById("confirm-error");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-fields").replaceChildren(...fields);
  problem.hidden = true;
  const check = () => {
    const message = validate ? validate() : "";
    problem.textContent = message;
    problem.hidden = !message;
    ok.disabled = Boolean(message);
  };
  for (const f of fields) f.addEventListener("input", check);
  check();
  document.getElementById("confirm-cancel").onclick = () => dialog.close();
  document.getElementById("confirm-form").onsubmit = async (e) => {
    e.preventDefault();
    ok.disabled = true;
    try {
      await run();
      dialog.close();
    } catch (err) {
      problem.textContent = err.message;
      problem.hidden = false;
    } finally {
      ok.disabled = false;
    }
  };
  dialog.showModal();
}

function parseJsonField(text) {
  if (!text.trim()) return { ok: true, empty: true };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: "not valid JSON: " + err.message };
  }
}

function showInstance(id) {
  const path = "/instances/" + enc(id);
  let history = [];
  let status = null;
  let controller = null;
  let pending = false;
  let closed = false;
  const statusBox = h("span", { id: "instance-status" });
  const live = h("span", { class: "live", id: "live" });
  const meta = h("dl", { class: "meta" });
  const failure = h("div", { id: "failure" });
  const data = h("div", { class: "grid", id: "payloads" });
  const timeline = h("div", { class: "timeline-wrap", id: "timeline" });
  const events = h("tbody");
  const button = (name, label, cls) => h("button", { type: "button", id: "action-" + name, class: cls, onclick: () => actions[name]() }, label);
  const buttons = { raise: button("raise", "Raise event"), terminate: button("terminate", "Terminate", "danger"),
    suspend: button("suspend", "Suspend"), resume: button("resume", "Resume"), rewind: button("rewind", "Rewind"),
    restart: button("restart", "Restart"), purge: button("purge", "Purge", "danger") };
  const legend = h("div", { class: "legend" }, ["activity", "timer", "suborchestration", "failed", "event"].map((k) => h("span", {}, h("i", { class: k }), k === "suborchestration" ? "sub-orchestration" : k)));
  main.append(h("p", {}, h("a", { href: "#/" }, "← All instances")),
    h("div", { class: "card" }, h("h1", {}, id), statusBox, live, meta, h("div", { class: "actions" }, Object.values(buttons))),
    failure, data,
    h("div", { class: "card" }, h("h2", {}, "Timeline"), timeline, legend),
    h("div", { class: "card" }, h("h2", {}, "History"), h("table", { id: "history" }, h("thead", {}, h("tr", {}, ["#", "Event", "At", "Details"].map((t) => h("th", {}, t)))), events)));

  function render() {
    pending = false;
    if (!status) return;
    const s = status.runtimeStatus;
    const running = !TERMINAL.has(s);
    statusBox.replaceChildren(badge(s));
    fill(meta, [h("dt", {}, "Name"), h("dd", {}, status.name), h("dt", {}, "Created"), h("dd", {}, time(status.createdTime)),
      h("dt", {}, "Last updated"), h("dd", {}, time(status.lastUpdatedTime)),
      status.completedTime ? [h("dt", {}, "Completed"), h("dd", {}, time(status.completedTime))] : [],
      status.parentInstanceId ? [h("dt", {}, "Parent"), h("dd", {}, h("a", { href: "#/instances/" + enc(status.parentInstanceId) }, status.parentInstanceId))] : []]);
    buttons.raise.disabled = !running;
    buttons.terminate.disabled = !running;
    buttons.suspend.disabled = s !== "Running" && s !== "Pending";
    buttons.resume.disabled = s !== "Suspended";
    buttons.rewind.disabled = s !== "Failed";
    buttons.purge.disabled = running;
    fill(failure, [status.failureDetails ? h("div", { class: "card" }, h("h2", {}, "Failure"), failureChain(status.failureDetails)) : []]);
    data.replaceChildren(h("div", { class: "card" }, h("h2", {}, "Input"), json(status.input)),
      h("div", { class: "card", id: "output" }, h("h2", {}, "Output"), json(status.output)),
      h("div", { class: "card" }, h("h2", {}, "Custom status"), json(status.customStatus)));
    renderTimeline(timeline, history, Date.now(), running);
    const t0 = history.length ? Date.parse(history[0].timestamp) : 0;
    events.replaceChildren(...history.map((e, i) => {
      const { kind, timestamp, eventId, ...rest } = e;
      const details = JSON.stringify(rest);
      return h("tr", {}, h("td", {}, String(i + 1)), h("td", {}, kind + (eventId >= 0 ? " #" + eventId : "")),
        h("td", { title: timestamp }, "+" + formatDuration(Date.parse(timestamp) - t0)),
        h("td", { class: "mono" }, details.length > 200 ? details.slice(0, 199) + "…" : details));
    }));
  }
  const schedule = () => {
    if (!pending) {
      pending = true;
      setTimeout(render, 30);
    }
  };
  const tick = setInterval(() => status && !TERMINAL.has(status.runtimeStatus) && schedule(), 1000);

  function onEvent(block) {
    const name = (/^event: (.*)$/m.exec(block) || [])[1];
    const line = (/^data: (.*)$/m.exec(block) || [])[1];
    if (!name || line === undefined) return;
    const value = JSON.parse(line);
    if (name === "history") {
      // A rewind or continue-as-new makes the stream send the new history from its start.
      if (value.kind === "ExecutionStarted") history = [];
      history.push(value);
    } else if (name === "status") status = value;
    else if (name === "error") showError(new Error(value.detail));
    schedule();
  }

  async function follow() {
    if (controller) controller.abort();
    const ctrl = new AbortController();
    controller = ctrl;
    try {
      const res = await api(path + "/stream?showHistoryOutput=true", { signal: ctrl.signal });
      live.textContent = "live";
      live.classList.add("on");
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let i = buffer.indexOf("\n\n"); i >= 0; i = buffer.indexOf("\n\n")) {
          onEvent(buffer.slice(0, i));
          buffer = buffer.slice(i + 2);
        }
      }
    } catch (err) {
      if (!ctrl.signal.aborted) showError(err);
    }
    if (controller !== ctrl || closed) return;
    live.textContent = "";
    live.classList.remove("on");
    // The stream ends at a terminal status; if it broke off earlier, follow again.
    if (status && !TERMINAL.has(status.runtimeStatus)) setTimeout(() => controller === ctrl && !closed && follow(), 2000);
  }

  async function post(action, query) {
    await api(path + "/" + action + (query ? "?" + query : ""), { method: "POST" });
    follow();
  }
  const reasonField = () => h("input", { id: "action-reason", type: "text", placeholder: "optional" });
  const reasonQuery = () => {
    const r = document.getElementById("action-reason").value.trim();
    return r ? "reason=" + enc(r) : "";
  };
  const withReason = (action, title, text) => () =>
    confirmAction(title, text, [h("label", {}, "Reason", reasonField())], () => post(action, reasonQuery()));
  const actions = {
    raise() {
      const nameInput = h("input", { id: "event-name", type: "text", required: true, placeholder: "event name" });
      const dataInput = h("textarea", { id: "event-data", spellcheck: "false", placeholder: "JSON, e.g. true or {\"approved\": true}; empty sends no data" });
      confirmAction("Raise event", "Sends an external event to " + id + ".",
        [h("label", {}, "Event name", nameInput), h("label", {}, "Data (JSON)", dataInput)],
        async () => {
          const parsed = parseJsonField(dataInput.value);
          const options = { method: "POST" };
          if (!parsed.empty) Object.assign(options, { headers: { "content-type": "application/json" }, body: JSON.stringify(parsed.value) });
          await api(path + "/raiseEvent/" + enc(nameInput.value.trim()), options);
        },
        () => {
          const parsed = parseJsonField(dataInput.value);
          dataInput.classList.toggle("invalid", !parsed.ok);
          if (!parsed.ok) return parsed.message;
          return nameInput.value.trim() ? "" : "an event name is required";
        });
    },
    terminate: withReason("terminate", "Terminate instance", "Ends " + id + " now; it cannot continue afterwards (restart starts it again)."),
    suspend: withReason("suspend", "Suspend instance", "New events wait until " + id + " is resumed."),
    resume: withReason("resume", "Resume instance", "Lets " + id + " continue."),
    rewind: withReason("rewind", "Rewind instance", "Runs the failed and unfinished steps of " + id + " again."),
    restart() {
      const fresh = h("input", { id: "restart-new-id", type: "checkbox", checked: true });
      confirmAction("Restart instance", "Starts " + id + "'s orchestration again with the same input.",
        [h("label", { class: "check" }, fresh, "with a new instance ID")], async () => {
          const res = await api(path + "/restart?restartWithNewInstanceId=" + fresh.checked, { method: "POST" });
          const body = await res.json();
          if (body.id === id) follow();
          else location.hash = "#/instances/" + enc(body.id);
        });
    },
    purge() {
      confirmAction("Purge instance", "Deletes " + id + " and its history for good.", [], async () => {
        await api(path, { method: "DELETE" });
        location.hash = "#/";
      });
    },
  };

  cleanup = () => {
    closed = true;
    clearInterval(tick);
    if (controller) controller.abort();
  };
  follow();
}

document.getElementById("hub").textContent = location.host;
window.addEventListener("hashchange", route);
route();
`;
