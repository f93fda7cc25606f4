/**
 * The readable report: a header (date, machine, versions, each system's setup), then one row per
 * workload with "median (min–max)" per system, the 1-minute load average range over the row's
 * runs, and the ratios of each Refrain store to the faster of the peers (DBOS, Restate). Every
 * figure is a time (seconds, or W2's p50 latency in ms), so a ratio below 1 means Refrain is
 * faster than that peer.
 */
import { cpus, loadavg } from "node:os";

/** The peers Refrain is compared with. */
const PEERS = ["dbos-postgres", "restate"];

/** The Refrain stores that get a ratio column. */
const REFRAINS = [
  ["refrain-sqlite", "Refrain SQLite vs faster peer"],
  ["refrain-postgres", "Refrain PostgreSQL vs faster peer"],
];

function fmt(value) {
  if (value === undefined || !Number.isFinite(value)) return "–";
  if (Math.abs(value) >= 100) return String(Math.round(value));
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** "median (min–max)" of a result or of one of its metrics. */
function cell(summary) {
  if (!summary) return "–";
  return `${fmt(summary.median)} (${fmt(summary.min)}–${fmt(summary.max)})`;
}

/** Pads the columns of `rows` (arrays of strings) into aligned lines with a rule under the first. */
function renderTable(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row) =>
    row
      .map((text, c) => text.padEnd(widths[c]))
      .join("  ")
      .trimEnd();
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

/** The ratio of `system`'s median to the faster peer's on one workload, as text. */
function ratio(byStore, system) {
  const own = byStore.get(system);
  const peers = PEERS.map((id) => byStore.get(id)).filter(Boolean);
  if (!own || peers.length === 0) return "–";
  const fastest = peers.reduce((a, b) => (b.median < a.median ? b : a));
  return `${(own.median / fastest.median).toFixed(2)}× vs ${fastest.store}`;
}

/**
 * The whole report as text. `results` are the runWorkload summaries, `failures` maps
 * "<workload> <system>" or "<system>" to why it has no figure, `header` holds context lines.
 */
export function renderReport({ systems, workloads, results, failures, header }) {
  const lines = [...header, ""];
  for (const system of systems) lines.push(`${system.label} (${system.id}): ${system.setup}`);
  lines.push("");
  const rows = [
    [
      "workload",
      "unit",
      ...systems.map((s) => s.label),
      "load avg (1 min)",
      ...REFRAINS.filter(([id]) => systems.some((s) => s.id === id)).map(([, title]) => title),
    ],
  ];
  for (const workload of workloads) {
    const byStore = new Map(results.filter((r) => r.workload === workload.id).map((r) => [r.store, r]));
    const loads = [...byStore.values()].flatMap((r) => [r.metrics.load_avg?.min, r.metrics.load_avg?.max]);
    const finite = loads.filter((v) => Number.isFinite(v));
    const load = finite.length ? `${fmt(Math.min(...finite))}–${fmt(Math.max(...finite))}` : "–";
    const label = workload.id === "W2" ? "W2 p50" : workload.id;
    rows.push([
      label,
      workload.unit,
      ...systems.map((s) => (byStore.has(s.id) ? cell(byStore.get(s.id)) : "n/a")),
      load,
      ...REFRAINS.filter(([id]) => systems.some((s) => s.id === id)).map(([id]) => ratio(byStore, id)),
    ]);
    if (workload.id === "W2") {
      const p95 = systems.map((s) => cell(byStore.get(s.id)?.metrics.p95_ms));
      rows.push(["W2 p95", "ms", ...p95, "", ...REFRAINS.filter(([id]) => byStore.has(id)).map(() => "")]);
    }
  }
  for (const row of rows) while (row.length < rows[0].length) row.push("");
  lines.push(renderTable(rows));
  lines.push("");
  lines.push(
    "Cells: median (min–max) of the measured runs. Ratio = Refrain median ÷ the faster peer's median;",
  );
  lines.push(
    "below 1 means Refrain is faster. Load avg: range of the 1-minute load average at the end of the",
  );
  lines.push(`row's runs, on ${cpus().length} cores.`);
  if (failures.size > 0) {
    lines.push("", "Not measured:");
    for (const [what, reason] of failures) lines.push(`  ${what}: ${reason}`);
  }
  lines.push("", "CPU seconds of this process per run (median); Restate's server process in brackets:");
  const cpuRows = [["workload", ...systems.map((s) => s.label)]];
  for (const workload of workloads) {
    cpuRows.push([
      workload.id,
      ...systems.map((s) => {
        const r = results.find((x) => x.workload === workload.id && x.store === s.id);
        if (!r) return "n/a";
        const server = r.metrics.server_cpu_s ? ` [+${fmt(r.metrics.server_cpu_s.median)}]` : "";
        return `${fmt(r.metrics.cpu_s?.median)}${server}`;
      }),
    ]);
  }
  lines.push(renderTable(cpuRows));
  return lines.join("\n");
}

/** Context lines for the report header. */
export function headerLines(versions, repeats) {
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return [
    `Refrain vs DBOS vs Restate — workloads W1–W4 of BENCH.md, ${repeats} measured runs after one warm-up`,
    `Started ${now} (UTC), load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(" ")}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}`,
    `Versions: ${Object.entries(versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  ];
}
