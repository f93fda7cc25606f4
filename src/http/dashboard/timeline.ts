/**
 * The dashboard's timeline module (served as `/dashboard/timeline.js`): turns an instance's history
 * into bars (activities, timers, sub-orchestrations, from scheduled to completed) and marks (start,
 * external events, suspend/resume/terminate/rewind, the end), and draws them as one SVG. Plain
 * browser JavaScript kept as a string (no build step); it must contain no backslash or backtick.
 */

/** The ES module served at `/dashboard/timeline.js`; exports `timelineModel` and `renderTimeline`. */
export const TIMELINE_JS = `const SVG = "http://www.w3.org/2000/svg";
const LABEL_W = 230;
const WIDTH = 1100;
const ROW_H = 24;
const AXIS_H = 22;
const MARK_H = 52;

/** Bars and marks of a history; open bars (still running) end at the range's end. */
export function timelineModel(history, now, running) {
  const bars = [];
  const marks = [];
  const open = new Map();
  let start;
  let last;
  let end;
  const close = (id, t, failed) => {
    const bar = open.get(id);
    if (!bar) return;
    bar.end = t;
    bar.failed = failed;
    open.delete(id);
  };
  const bar = (id, kind, label, t, extra) => {
    const b = Object.assign({ kind, label, start: t, end: undefined, failed: false }, extra);
    open.set(id, b);
    bars.push(b);
  };
  for (const e of history) {
    const t = Date.parse(e.timestamp);
    if (Number.isNaN(t)) continue;
    if (start === undefined) start = t;
    last = t;
    switch (e.kind) {
      case "TaskScheduled":
        bar(e.eventId, "activity", e.name + (e.attempt > 1 ? " (attempt " + e.attempt + ")" : ""), t);
        break;
      case "TaskCompleted":
      case "SubOrchestrationInstanceCompleted":
        close(e.taskScheduledId, t, false);
        break;
      case "TaskFailed":
      case "SubOrchestrationInstanceFailed":
        close(e.taskScheduledId, t, true);
        break;
      case "TimerCreated":
        bar(e.eventId, "timer", "timer until " + new Date(e.fireAt).toLocaleTimeString(), t, {
          planned: Date.parse(e.fireAt),
        });
        break;
      case "TimerFired":
        close(e.timerId, t, false);
        break;
      case "SubOrchestrationInstanceCreated":
        bar(e.eventId, "suborchestration", e.name + " · " + e.instanceId, t, { instanceId: e.instanceId });
        break;
      case "ExecutionStarted":
        marks.push({ t, cls: "start", label: "started" });
        break;
      case "EventRaised":
        marks.push({ t, cls: "event", label: "event " + e.name });
        break;
      case "EventSent":
        marks.push({ t, cls: "event", label: "sent " + e.name + " to " + e.instanceId });
        break;
      case "ExecutionSuspended":
      case "ExecutionResumed":
      case "ExecutionTerminated":
      case "ExecutionRewound":
        marks.push({ t, cls: "control", label: e.kind.slice("Execution".length).toLowerCase() });
        break;
      case "ExecutionCompleted":
        marks.push({ t, cls: "end", label: e.status });
        end = t;
        break;
    }
  }
  if (start === undefined) return { bars, marks, start: now, end: now };
  const rangeEnd = end ?? (running ? Math.max(now, last) : last);
  for (const b of bars) {
    b.open = b.end === undefined;
    if (b.open) b.end = rangeEnd;
  }
  return { bars, marks, start, end: Math.max(rangeEnd, start + 1) };
}

/** "0", "250 ms", "1.5 s", "2.0 min", "1.2 h". */
export function formatDuration(ms) {
  if (ms === 0) return "0";
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
  if (ms < 3600000) return (ms / 60000).toFixed(1) + " min";
  return (ms / 3600000).toFixed(1) + " h";
}

function node(tag, attrs, text) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

function tickStep(span) {
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 3e4, 6e4, 12e4, 3e5, 6e5, 18e5, 36e5];
  return steps.find((s) => span / s <= 8) ?? Math.ceil(span / 8 / 36e5) * 36e5;
}

function clip(text, n) {
  return text.length > n ? text.slice(0, n - 1) + "…" : text;
}

/** Draws the history's timeline into container (replacing what was there). */
export function renderTimeline(container, history, now, running) {
  const m = timelineModel(history, now, running);
  const span = m.end - m.start;
  const plot = WIDTH - LABEL_W - 70;
  const x = (t) => LABEL_W + ((Math.min(Math.max(t, m.start), m.end) - m.start) / span) * plot;
  const height = AXIS_H + MARK_H + m.bars.length * ROW_H + 8;
  const svg = node("svg", { class: "timeline", viewBox: "0 0 " + WIDTH + " " + height, role: "img" });
  svg.append(node("title", {}, "Timeline of " + m.bars.length + " steps and " + m.marks.length + " events"));
  const axis = node("g", { class: "axis" });
  const step = tickStep(span);
  for (let d = 0; d <= span; d += step) {
    axis.append(node("line", { x1: x(m.start + d), x2: x(m.start + d), y1: AXIS_H - 4, y2: height }));
    axis.append(node("text", { x: x(m.start + d) + 3, y: AXIS_H - 8 }, formatDuration(d)));
  }
  svg.append(axis);
  svg.append(node("text", { x: 4, y: AXIS_H + 16 }, "events"));
  m.marks.forEach((mark, i) => {
    const cx = x(mark.t);
    const g = node("g", { class: "mark-group", "data-label": mark.label });
    g.append(node("title", {}, mark.label + " at +" + formatDuration(mark.t - m.start)));
    g.append(node("circle", { class: "mark " + mark.cls, cx, cy: AXIS_H + 12, r: 6 }));
    const right = cx > WIDTH - 160;
    const label = { x: right ? cx - 8 : cx + 8, y: AXIS_H + 16 + (i % 3) * 13, "text-anchor": right ? "end" : "start" };
    g.append(node("text", label, clip(mark.label, 24)));
    svg.append(g);
  });
  m.bars.forEach((b, i) => {
    const y = AXIS_H + MARK_H + i * ROW_H;
    if (i % 2 === 0) svg.append(node("rect", { class: "row-bg", x: 0, y, width: WIDTH, height: ROW_H }));
    svg.append(node("text", { x: 4, y: y + 16 }, clip(b.label, 34)));
    const x0 = x(b.start);
    const w = Math.max(3, x(b.end) - x0);
    const cls = "bar " + b.kind + (b.failed ? " failed" : "") + (b.open ? " open" : "");
    const rect = node("rect", { class: cls, x: x0, y: y + 4, width: w, height: ROW_H - 8, "data-kind": b.kind });
    const took = formatDuration(b.end - b.start);
    rect.append(node("title", {}, b.label + (b.open ? " (running for " : " (took ") + took + ")"));
    if (b.planned !== undefined && b.open) {
      svg.append(node("rect", { class: "planned", x: x0, y: y + 4, width: Math.max(3, x(b.planned) - x0), height: ROW_H - 8 }));
    }
    svg.append(rect);
    svg.append(node("text", { x: x0 + w + 4, y: y + 16 }, took + (b.failed ? " failed" : b.open ? " …" : "")));
  });
  if (running) svg.append(node("line", { class: "now", x1: x(now), x2: x(now), y1: AXIS_H, y2: height }));
  container.replaceChildren(svg);
}
`;
