/** How a change uses a transaction: `auto` (where the deployment has them), `always`, `never`. */
export const TRANSACTION_MODES = ['auto', 'always', 'never'] as const;
export type TransactionMode = (typeof TRANSACTION_MODES)[number];

/** Whether a value is a transaction mode: the one check every input (flags, config, files, templates) goes through. */
export function isTransactionMode(value: unknown): value is TransactionMode {
  return (TRANSACTION_MODES as readonly unknown[]).includes(value);
}

/** What a wrong transaction mode is told: `expected auto, always or never (got "sometimes")`. */
export function transactionModeProblem(value: unknown): string {
  return `expected auto, always or never (got ${JSON.stringify(value)})`;
}
