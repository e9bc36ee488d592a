/**
 * What the runner reads off errors the driver and the server raise. Errors come wrapped:
 * client.bulkWrite (the tracker's record+audit write on MongoDB 8) puts the server's error,
 * labels included, in the `cause` of a MongoClientBulkWriteError, and a change's own code may
 * wrap what it caught; so each check looks a few causes deep.
 */

/** Whether the error or one of its causes carries a label (`TransientTransactionError`...). */
export function hasErrorLabel(error: unknown, label: string): boolean {
  return someCause(error, (candidate) => {
    const labelled = candidate as { hasErrorLabel?: (label: string) => boolean; errorLabels?: unknown };
    return typeof labelled.hasErrorLabel === 'function' ? labelled.hasErrorLabel(label) : Array.isArray(labelled.errorLabels) && labelled.errorLabels.includes(label);
  });
}

/** Whether the error or one of its causes has the server error code. */
export function hasErrorCode(error: unknown, code: number): boolean {
  return someCause(error, (candidate) => (candidate as { code?: unknown }).code === code);
}

const OPERATION_NOT_SUPPORTED_IN_TRANSACTION = 263;

/**
 * The server refused an operation because it ran inside a multi-document transaction
 * (OperationNotSupportedInTransaction, 263: drop, renameCollection, an index build on a
 * collection that holds documents, count, listCollections...). Undefined otherwise, else the
 * server's words.
 */
export function refusedInTransaction(error: unknown): string | undefined {
  let words: string | undefined;
  someCause(error, (candidate) => {
    const { code, codeName, message } = candidate as { code?: unknown; codeName?: unknown; message?: unknown };
    if (code !== OPERATION_NOT_SUPPORTED_IN_TRANSACTION && codeName !== 'OperationNotSupportedInTransaction') return false;
    words = typeof message === 'string' ? message : 'OperationNotSupportedInTransaction';
    return true;
  });
  return words;
}

const WRITE_CONFLICT = 112;
/** mongod's default transactionLifetimeLimitSeconds: the longest an abandoned transaction holds its documents. */
const WRITE_CONFLICT_RETRY_MS = 60_000;

/**
 * How long to wait before trying a transaction again after `error` on attempt `attempt` (first
 * failure at `since`), or undefined to give up. Transient errors get 3 attempts; a write conflict
 * is retried with back-off for up to a minute, because the usual one is a killed runner's
 * transaction, which keeps its documents (the change's history record among them) until the
 * server aborts it, and a lease can expire before that.
 */
export function transientRetryDelay(error: unknown, attempt: number, since: number): number | undefined {
  if (!hasErrorLabel(error, 'TransientTransactionError')) return undefined;
  if (attempt < 3) return 0;
  if (!hasErrorCode(error, WRITE_CONFLICT) || Date.now() - since >= WRITE_CONFLICT_RETRY_MS) return undefined;
  return Math.min(50 * 2 ** (attempt - 3), 1000);
}

function someCause(error: unknown, test: (candidate: object) => boolean): boolean {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 4; current = (current as { cause?: unknown }).cause, depth += 1) {
    if (test(current)) return true;
  }
  return false;
}

/** NoSuchTransaction, TransactionExceededLifetimeLimitSeconds: the server ended the transaction on its own. */
const ABORTED_BY_SERVER = [251, 290];

/**
 * What to do about a transaction the server aborted on its own, or undefined for any other error.
 * The usual cause is MongoDB's transaction lifetime limit: a change that runs longer than
 * `transactionLifetimeLimitSeconds` (60 s by default) cannot commit in one transaction, however
 * often it is tried.
 */
export function abortedTransactionAdvice(error: unknown): string | undefined {
  if (!ABORTED_BY_SERVER.some((code) => hasErrorCode(error, code))) return undefined;
  return (
    'the server aborted its transaction (MongoDB aborts one that runs longer than transactionLifetimeLimitSeconds, 60 s by default): ' +
    "give this change transaction: 'never', or make it a batched change (batches: true) that commits in steps"
  );
}
