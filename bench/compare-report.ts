// The shapes `npm run bench` reports (bench/results/latest.json) and their rendering as Markdown
// tables, so stdout can be pasted into docs/benchmarks.md as it is.
import type { Summary } from './process-timer.js';

export interface Side {
  /** What ran, e.g. `delta commit --transaction never` or `100 × migrate-mongo down`. */
  readonly label: string;
  readonly summary: Summary;
}

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly delta: Side;
  /** migrate-mongo, or for the lock race a single delta process. */
  readonly other: Side;
  /** delta's median ÷ the other's median. */
  readonly ratio: number;
  /** delta's fastest ÷ the other's fastest: steadier than the medians on a busy machine. */
  readonly ratioOfMinimums: number;
}

export interface RoundTripResult {
  readonly tool: string;
  readonly changes: readonly [number, number];
  /** Commands per change by name: (count at the larger run − at the smaller) ÷ the difference. */
  readonly perChange: Readonly<Record<string, number>>;
  /** Commands per change minus the change's own insert. */
  readonly trackerPerChange: number;
  /** Commands a run costs whatever its size (connect, lock, history reads...). */
  readonly perRun: number;
  /** The same by command name. */
  readonly perRunByName: Readonly<Record<string, number>>;
}

export interface GoalResult {
  readonly text: string;
  readonly limit: string;
  /** Null when the scenario did not run (tiny mode, or round trips against MONGODB_URI). */
  readonly measured: number | null;
  readonly unit: '×' | 'MB' | 'commands';
  readonly pass: boolean | null;
}

export interface MachineFacts {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly totalMemoryMb: number;
  readonly platform: string;
  readonly node: string;
  /** When the bench started. */
  readonly date: string;
  /** 1-minute load average at the start and at the end: other work on the machine skews timings. */
  readonly loadAverage: { readonly start: number; readonly end: number };
}

export interface BenchReport {
  readonly command: string;
  readonly tiny: boolean;
  readonly machine: MachineFacts;
  readonly versions: { readonly delta: string; readonly migrateMongo: string; readonly mongodbDriver: string };
  readonly server: 'sandbox' | 'MONGODB_URI';
  readonly settings: Readonly<Record<string, number | readonly number[]>>;
  readonly scenarios: readonly ScenarioResult[];
  readonly roundTrips: readonly RoundTripResult[];
  readonly goals: readonly GoalResult[];
  readonly durationMs: number;
}

const ms = (value: number) => Math.round(value).toLocaleString('en-US');
const mb = (value: number | null) => (value === null ? '—' : String(Math.round(value)));
const spread = (s: Summary) => `${ms(s.minMs)} / **${ms(s.medianMs)}** / ${ms(s.maxMs)}`;
export const formatRatio = (ratio: number) => `${ratio.toFixed(2)}×`;

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

export function scenarioTable(scenarios: readonly ScenarioResult[]): string {
  return table(
    ['scenario', 'delta: min / **median** / max ms', 'compared with', 'its min / **median** / max ms', 'delta ÷ it', 'peak RSS MB (delta / it)'],
    scenarios.map((s) => [
      s.title,
      spread(s.delta.summary),
      s.other.label,
      spread(s.other.summary),
      `**${formatRatio(s.ratio)}**`,
      `${mb(s.delta.summary.peakRssMb)} / ${mb(s.other.summary.peakRssMb)}`,
    ]),
  );
}

export function roundTripTable(results: readonly RoundTripResult[]): string {
  const byName = (perChange: Readonly<Record<string, number>>) =>
    Object.entries(perChange)
      .map(([name, count]) => `${name} ${count}`)
      .join(', ');
  return table(
    ['run', 'tracker commands per change', 'all commands per change', 'fixed commands per run'],
    results.map((r) => [r.tool, `**${r.trackerPerChange}**`, byName(r.perChange), `${r.perRun}: ${byName(r.perRunByName)}`]),
  );
}

export function goalTable(goals: readonly GoalResult[]): string {
  return table(
    ['goal', 'limit', 'measured', 'result'],
    goals.map((g) => [
      g.text,
      g.limit,
      g.measured === null ? 'not measured' : g.unit === '×' ? formatRatio(g.measured) : `${g.measured} ${g.unit}`,
      g.pass === null ? '—' : g.pass ? 'PASS' : '**MISS**',
    ]),
  );
}

export function renderReport(report: BenchReport): string {
  const m = report.machine;
  return [
    `delta ${report.versions.delta} against migrate-mongo ${report.versions.migrateMongo} (mongodb driver ${report.versions.mongodbDriver}), server: ${report.server}${report.tiny ? ', TINY MODE (smoke check, not figures)' : ''}`,
    `${m.cpus} × ${m.cpuModel}, ${m.totalMemoryMb} MB, ${m.platform}, Node ${m.node}, ${m.date}, load average ${m.loadAverage.start} at start, ${m.loadAverage.end} at end`,
    `settings: ${JSON.stringify(report.settings)}`,
    '',
    scenarioTable(report.scenarios),
    '',
    'Round trips (commands the sandbox received, monitoring excluded):',
    '',
    report.roundTrips.length === 0 ? '(not measured: commands are counted by the sandbox, and MONGODB_URI is set)' : roundTripTable(report.roundTrips),
    '',
    'Goals (ratios from this run):',
    '',
    goalTable(report.goals),
    '',
    `Total bench time: ${(report.durationMs / 1000).toFixed(0)} s`,
    '',
  ].join('\n');
}
