/**
 * The dashboard's stylesheet: layout, status badges (one colour per runtime status, shared by the
 * counts bar, the list and the timeline) and the timeline's SVG classes.
 */

/** The stylesheet served at `/dashboard/app.css`. */
export const DASHBOARD_CSS = `:root {
  --fg: #1f2328; --muted: #656d76; --bg: #f6f8fa; --card: #fff; --line: #d0d7de; --accent: #0969da;
  --running: #0969da; --pending: #8250df; --completed: #1a7f37; --failed: #cf222e;
  --terminated: #6e7781; --suspended: #bf8700; --continued: #1b7c83;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg);
}
body { margin: 0; }
header.top { display: flex; align-items: center; gap: 12px; padding: 10px 20px; background: #24292f; color: #fff; }
header.top .brand { color: #fff; font-weight: 700; font-size: 16px; text-decoration: none; }
header.top .muted { color: #afb8c1; }
.spacer { flex: 1; }
main { padding: 16px 20px; max-width: 1280px; margin: 0 auto; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 0 0 16px; }
#key-form { max-width: 480px; margin: 24px auto; }
h1 { font-size: 20px; margin: 0 0 8px; word-break: break-all; }
h2 { font-size: 15px; margin: 0 0 8px; }
a { color: var(--accent); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; max-height: 280px; overflow: auto; background: var(--bg); padding: 8px; border-radius: 4px; }
button, select, input, textarea { font: inherit; }
button { border: 1px solid var(--line); background: #f6f8fa; border-radius: 6px; padding: 4px 12px; cursor: pointer; }
button:hover:not(:disabled) { background: #eaeef2; }
button:disabled { opacity: .5; cursor: default; }
button.primary { background: #1f883d; border-color: #1a7f37; color: #fff; }
button.danger { color: var(--failed); }
input, select, textarea { border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px; background: #fff; }
textarea { width: 100%; box-sizing: border-box; min-height: 120px; font-family: ui-monospace, monospace; }
textarea.invalid { border-color: var(--failed); outline-color: var(--failed); }
label { display: inline-flex; align-items: center; gap: 6px; }
dialog label { display: flex; flex-direction: column; align-items: stretch; gap: 4px; margin-bottom: 10px; }
dialog label.check { flex-direction: row; align-items: center; }
.error { color: var(--failed); background: #ffebe9; border: 1px solid #ffcecb; border-radius: 6px; padding: 8px 12px; margin: 8px 20px; white-space: pre-wrap; }
dialog .error { margin: 8px 0; }
.muted { color: var(--muted); }
.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 10px; }
.count { border: 1px solid var(--line); border-radius: 16px; padding: 2px 10px; background: #fff; }
.count.active { outline: 2px solid var(--accent); }
.count b { margin-left: 4px; }
table { width: 100%; border-collapse: collapse; background: #fff; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); background: var(--bg); }
.pager { display: flex; gap: 8px; align-items: center; margin-top: 10px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; background: var(--muted); }
.s-Running { background: var(--running); } .s-Pending { background: var(--pending); }
.s-Completed { background: var(--completed); } .s-Failed { background: var(--failed); }
.s-Terminated { background: var(--terminated); } .s-Suspended { background: var(--suspended); }
.s-ContinuedAsNew { background: var(--continued); }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
.meta dt { color: var(--muted); } .meta dd { margin: 0; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 16px; }
.grid .card { margin: 0; }
.live { font-size: 12px; color: var(--muted); margin-left: 8px; }
.live.on::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: var(--completed); margin-right: 4px; }
.cause { border-left: 3px solid var(--failed); padding-left: 10px; margin: 6px 0; }
.timeline-wrap { overflow-x: auto; }
svg.timeline { display: block; width: 100%; min-width: 640px; }
svg.timeline text { font: 11.5px system-ui, sans-serif; fill: var(--fg); }
svg.timeline .axis line { stroke: var(--line); }
svg.timeline .axis text { fill: var(--muted); }
svg.timeline .row-bg { fill: #f6f8fa; }
svg.timeline .bar { rx: 3px; }
svg.timeline .bar.activity { fill: #54aeff; } svg.timeline .bar.timer { fill: #d4a72c; }
svg.timeline .bar.suborchestration { fill: #a475f9; }
svg.timeline .bar.failed { fill: var(--failed); }
svg.timeline .bar.open { fill-opacity: .45; stroke: var(--running); stroke-dasharray: 4 3; }
svg.timeline .planned { fill: none; stroke: #d4a72c; stroke-dasharray: 3 3; }
svg.timeline .mark { stroke: #fff; stroke-width: 1; }
svg.timeline .mark.start { fill: var(--completed); } svg.timeline .mark.event { fill: var(--accent); }
svg.timeline .mark.end { fill: var(--fg); } svg.timeline .mark.control { fill: var(--suspended); }
svg.timeline .now { stroke: var(--running); stroke-dasharray: 2 2; }
.legend { display: flex; gap: 14px; font-size: 12px; color: var(--muted); margin-top: 6px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.legend .activity { background: #54aeff; } .legend .timer { background: #d4a72c; }
.legend .suborchestration { background: #a475f9; } .legend .failed { background: var(--failed); }
.legend .event { background: var(--accent); border-radius: 50%; }
dialog { border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; width: min(520px, 90vw); }
dialog::backdrop { background: rgba(31, 35, 40, .45); }
dialog .buttons { display: flex; justify-content: flex-end; gap: 8px; }
`;
