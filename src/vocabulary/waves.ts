// A fleet's waves (`--waves 1,10%,rest`, configuration `fleet.waves`): how many targets each wave
// takes, in the fleet's order. A number is that many targets, `P%` that share of all targets
// (rounded up, at least one), `rest` every target left (last only). Targets the list does not
// reach form one more wave, as if it ended with `rest`.

export type WaveSize = { readonly count: number } | { readonly percent: number } | 'rest';

/** The waves of a spec, or why it is not one (a message that completes "--waves ..."). */
export function parseWaves(spec: string): WaveSize[] | { readonly problem: string } {
  const items = spec.split(',').map((item) => item.trim());
  const waves: WaveSize[] = [];
  for (const [index, item] of items.entries()) {
    if (item === 'rest') {
      if (index !== items.length - 1) return { problem: `'rest' must be the last wave (got ${JSON.stringify(spec)})` };
      waves.push('rest');
    } else if (/^[1-9]\d*$/.test(item)) {
      waves.push({ count: Number(item) });
    } else if (/^\d+(\.\d+)?%$/.test(item) && Number(item.slice(0, -1)) > 0 && Number(item.slice(0, -1)) <= 100) {
      waves.push({ percent: Number(item.slice(0, -1)) });
    } else {
      return { problem: `${JSON.stringify(item)} is not a wave: use a number of targets (1), a share of them (10%) or rest, separated by commas` };
    }
  }
  return waves;
}

/** The number of targets of each wave for a fleet of `total` targets; no empty wave, and they add up to `total`. */
export function waveCounts(waves: readonly WaveSize[], total: number): number[] {
  const counts: number[] = [];
  let left = total;
  for (const wave of waves) {
    if (left === 0) break;
    const wanted = wave === 'rest' ? left : 'count' in wave ? wave.count : Math.max(1, Math.ceil((wave.percent / 100) * total));
    const count = Math.min(wanted, left);
    counts.push(count);
    left -= count;
  }
  if (left > 0) counts.push(left);
  return counts;
}

/** `0.1`, `10%` or `0` as a share between 0 and 1; undefined when it is not one. */
export function parseFailureRate(value: string): number | undefined {
  const trimmed = value.trim();
  const percent = trimmed.endsWith('%');
  const text = percent ? trimmed.slice(0, -1) : trimmed;
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  const rate = percent ? Number(text) / 100 : Number(text);
  return rate <= 1 ? rate : undefined;
}

/** What `fleet.betweenWaves` receives once a wave is done and the next is about to start. */
export interface BetweenWavesContext {
  readonly command: 'commit' | 'rollback';
  /** The wave that just finished, 1-based, of `waves`. */
  readonly wave: number;
  readonly waves: number;
  /** How each target of that wave ended. */
  readonly finished: readonly { readonly target: string; readonly deployment: string; readonly outcome: string; readonly done: number; readonly failed: number }[];
  /** The target databases of the next wave (see nextTargets for their deployments). */
  readonly next: readonly string[];
  /** The targets of the next wave with their deployments (host lists, no credentials). */
  readonly nextTargets: readonly { readonly target: string; readonly deployment: string }[];
}

/** Checks error rates, waits for a soak time...: throwing halts the fleet before the next wave. */
export type BetweenWavesHook = (context: BetweenWavesContext) => Promise<void> | void;
