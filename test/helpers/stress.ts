/**
 * `npm run test:stress` sets DELTA_STRESS=1: the reliability tests then run their long forms
 * (every crash point, every fault at every command, 20 lock races) instead of the samples
 * `npm test` can afford.
 */
export const STRESS = process.env.DELTA_STRESS === '1';

/** `count` points spread evenly over 1..n (all of them when `count >= n`). */
export function spread(n: number, count: number): number[] {
  if (count >= n) return Array.from({ length: n }, (_, i) => i + 1);
  return Array.from({ length: count }, (_, i) => 1 + Math.round((i * (n - 1)) / (count - 1)));
}

/** Runs `work` over `items` with at most `limit` at a time; resolves when all are done. */
export async function inPool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
