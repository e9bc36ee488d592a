import { z } from 'zod';

export const TRANSACTION_MODES = ['auto', 'always', 'never'] as const;
export type TransactionMode = (typeof TRANSACTION_MODES)[number];

const mongoUri = z
  .string()
  .refine((value) => /^mongodb(\+srv)?:\/\//i.test(value), {
    message: 'must be a mongodb:// or mongodb+srv:// connection string',
  });

const collectionName = z
  .string()
  .min(1)
  .refine((value) => !value.includes('$') && !value.startsWith('system.'), {
    message: "must be a collection name without '$' and not starting with 'system.'",
  });

const databaseName = z
  .string()
  .min(1)
  .max(63)
  .refine((value) => !/[/\\. "$*<>:|?]/.test(value), {
    message: 'must be a database name without /\\. "$*<>:|? or spaces',
  });

/** The shape of a configuration file (and of `createDelta()`'s input). */
export const configFileSchema = z.strictObject({
  uri: mongoUri.optional(),
  db: databaseName.optional(),
  path: z.string().min(1).optional(),
  tracker: z
    .strictObject({
      uri: mongoUri.optional(),
      db: databaseName.optional(),
      collections: z
        .strictObject({
          migrations: collectionName.optional(),
          audit: collectionName.optional(),
          lock: collectionName.optional(),
        })
        .optional(),
    })
    .optional(),
  transaction: z.enum(TRANSACTION_MODES).optional(),
  autoRollback: z.boolean().optional(),
  lock: z
    .strictObject({
      waitMs: z.number().int().nonnegative().optional(),
      leaseMs: z.number().int().min(1000).optional(),
      scope: z.string().min(1).optional(),
    })
    .optional(),
  connectTimeoutMs: z.number().int().positive().optional(),
});

export type DeltaConfigInput = z.infer<typeof configFileSchema>;

/** Human wording for a schema issue: `tracker.db must be a string`. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  const at = (key: string) => (path === '' ? key : `${path}.${key}`);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => `unknown key '${at(key)}'`).join(', ');
    case 'invalid_type':
      return `${path || 'the configuration'} must be ${article(issue.expected)}`;
    case 'invalid_value':
      return `${path} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `${path} must be ${issue.origin === 'string' ? 'a non-empty string' : `at least ${String(issue.minimum)}`}`;
    case 'too_big':
      return `${path} must be at most ${String(issue.maximum)}${issue.origin === 'string' ? ' characters' : ''}`;
    default:
      return `${path} ${issue.message}`;
  }
}

function article(expected: string): string {
  if (expected === 'object') return 'an object';
  if (expected === 'int') return 'an integer';
  if (expected === 'array') return 'an array';
  return `a ${expected}`;
}
