import { EJSON } from 'bson';
import { z } from 'zod';
import { CHANGE_METADATA_KEYS } from '../change-metadata.js';
import { TRANSACTION_MODES } from '../../vocabulary/index.js';

/**
 * The zod schemas of a template's header and of the built-in operations'
 * arguments. They check values as written in the file, where BSON values
 * are still Extended JSON (`{ $oid: ... }`); `ejsonChecked` proves those
 * decode, and the operations decode them afresh each time they run.
 */

export type Document = Record<string, unknown>;
/** A path inside a template: `['commit', 2, 'createIndex', 'keys']`. */
export type TemplatePath = readonly (string | number)[];

export function isPlainObject(value: unknown): value is Document {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Decodes Extended JSON (relaxed: plain numbers stay numbers) into BSON values. */
export function decodeExtendedJson<T>(value: T): T {
  return EJSON.deserialize(value as Document, { relaxed: true }) as T;
}

/**
 * The deepest place where `value` is not valid Extended JSON, and why: bson
 * throws for `{ $oid: 'zz' }` but turns `{ $date: 'nope' }` into an Invalid
 * Date silently, so both are looked for.
 */
export function extendedJsonProblem(value: unknown, path: (string | number)[] = []): { path: (string | number)[]; message: string } | undefined {
  if (!Array.isArray(value) && !isPlainObject(value)) return undefined;
  let decoded: unknown;
  try {
    decoded = decodeExtendedJson(value);
  } catch (error) {
    return descend(value, path) ?? { path, message: error instanceof Error ? error.message : String(error) };
  }
  if (hasInvalidDate(decoded)) return descend(value, path) ?? { path, message: '$date must be an ISO-8601 date such as "2024-01-01T00:00:00Z" or { $numberLong: "<ms since 1970>" }' };
  return undefined;
}

function descend(value: unknown, path: (string | number)[]): { path: (string | number)[]; message: string } | undefined {
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value as Document);
  for (const [key, inner] of entries) {
    const problem = extendedJsonProblem(inner, [...path, key]);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function hasInvalidDate(value: unknown): boolean {
  if (value instanceof Date) return Number.isNaN(value.getTime());
  if (Array.isArray(value)) return value.some(hasInvalidDate);
  if (isPlainObject(value) && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).some(hasInvalidDate);
  return false;
}

function ejsonChecked(value: unknown, context: z.RefinementCtx): void {
  const problem = extendedJsonProblem(value);
  if (problem !== undefined) context.addIssue({ code: 'custom', path: problem.path, message: `expected valid Extended JSON: ${problem.message}` });
}

/** Any document (filter, validator, options...); its Extended JSON must decode. */
export const documentSchema = z.custom<Document>(isPlainObject, { error: 'expected an object' }).superRefine(ejsonChecked);

const nonEmptyDocument = (what: string) =>
  z.custom<Document>(isPlainObject, { error: `expected ${what}` }).superRefine((value, context) => {
    if (Object.keys(value).length === 0) context.addIssue({ code: 'custom', message: `expected ${what}, not an empty object` });
    else ejsonChecked(value, context);
  });

export const collectionNameSchema = z
  .string({ error: 'expected a collection name (a string)' })
  .regex(/^(?!system\.)[^$\0]+$/, { error: "expected a collection name: non-empty, without '$', not starting with 'system.'" });

const indexNameSchema = z.string({ error: 'expected an index name (a string)' }).min(1, { error: 'expected a non-empty index name' });

const INDEX_TYPES = ['text', '2d', '2dsphere', 'hashed'];
export type IndexDirection = 1 | -1 | 'text' | '2d' | '2dsphere' | 'hashed';
const indexDirection = z.custom<IndexDirection>((value) => value === 1 || value === -1 || (typeof value === 'string' && INDEX_TYPES.includes(value)), {
  error: 'expected 1, -1, "text", "2d", "2dsphere" or "hashed"',
});
const indexKeysSchema = z
  .record(z.string(), indexDirection, { error: 'expected an object of field: direction, e.g. { email: 1 }' })
  .refine((keys) => Object.keys(keys).length > 0, { error: 'expected at least one field, e.g. { email: 1 }' });

const indexOptionsSchema = documentSchema.superRefine((options, context) => {
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
    context.addIssue({ code: 'custom', path: ['name'], message: 'expected an index name (a non-empty string)' });
  }
});

/** An update document of operators (`$set`...) or an aggregation pipeline (a list of stages). */
const updateSchema = z
  .custom<Document | Document[]>((value) => isPlainObject(value) || Array.isArray(value), {
    error: 'expected an update document such as { $set: {...} } or a pipeline (a list of stages)',
  })
  .superRefine((update, context) => {
    if (Array.isArray(update)) {
      if (update.length === 0) context.addIssue({ code: 'custom', message: 'expected at least one pipeline stage' });
      update.forEach((stage, index) => {
        if (!isPlainObject(stage) || Object.keys(stage).length !== 1 || !Object.keys(stage)[0]?.startsWith('$')) {
          context.addIssue({ code: 'custom', path: [index], message: 'expected a pipeline stage such as { $set: {...} }' });
        }
      });
    } else {
      const keys = Object.keys(update);
      if (keys.length === 0) context.addIssue({ code: 'custom', message: 'expected update operators such as { $set: {...} }, not an empty object' });
      const plain = keys.find((key) => !key.startsWith('$'));
      // The driver refuses a replacement document in updateOne/updateMany; say so before anything runs.
      if (plain !== undefined) context.addIssue({ code: 'custom', path: [plain], message: 'expected an update operator such as $set or $unset (a replacement document is not an update)' });
    }
    ejsonChecked(update, context);
  });

const collection = collectionNameSchema;

/** The arguments of each built-in operation, as written in a template. */
export const BUILT_IN_ARGS = {
  createCollection: z.strictObject({ name: collectionNameSchema, validator: documentSchema.optional(), options: documentSchema.optional() }),
  dropCollection: z.strictObject({ name: collectionNameSchema }),
  createIndex: z.strictObject({ collection, keys: indexKeysSchema, options: indexOptionsSchema.optional() }),
  dropIndex: z.strictObject({ collection, name: indexNameSchema }),
  insertMany: z.strictObject({
    collection,
    documents: z.array(documentSchema, { error: 'expected a list of documents' }).min(1, { error: 'expected at least one document' }),
    options: documentSchema.optional(),
  }),
  updateMany: z.strictObject({ collection, filter: documentSchema, update: updateSchema, options: documentSchema.optional() }),
  updateOne: z.strictObject({ collection, filter: documentSchema, update: updateSchema, options: documentSchema.optional() }),
  deleteMany: z.strictObject({ collection, filter: documentSchema, options: documentSchema.optional() }),
  renameCollection: z.strictObject({ from: collectionNameSchema, to: collectionNameSchema, dropTarget: z.boolean({ error: 'expected true or false' }).optional() }),
  collMod: z
    .strictObject({
      collection,
      validator: documentSchema.optional(),
      validationLevel: z.enum(['off', 'strict', 'moderate']).optional(),
      validationAction: z.enum(['error', 'warn', 'errorAndLog']).optional(),
      options: documentSchema.optional(),
    })
    .refine((args) => args.validator !== undefined || args.validationLevel !== undefined || args.validationAction !== undefined || args.options !== undefined, {
      error: 'expected at least one of validator, validationLevel, validationAction or options',
    }),
  runCommand: z.strictObject({ command: nonEmptyDocument('a command document such as { collMod: "users", validator: {...} }') }),
} as const;

export type BuiltInArgs = { readonly [K in keyof typeof BUILT_IN_ARGS]: z.output<(typeof BUILT_IN_ARGS)[K]> };

/** The keys a template may have, in the order the README lists them. */
export const TEMPLATE_KEYS = ['id', 'description', 'transaction', 'timeoutMs', ...CHANGE_METADATA_KEYS, 'commit', 'rollback'] as const;

/** A template's header: everything but the operations, which are checked one by one. */
export const templateHeaderSchema = z.strictObject({
  id: z.string({ error: 'expected a string' }).regex(/^\S+$/, { error: 'expected a non-empty id without spaces' }).optional(),
  description: z.string({ error: 'expected a string' }).optional(),
  transaction: z.enum(TRANSACTION_MODES).optional(),
  timeoutMs: z.number({ error: 'expected a number of milliseconds' }).positive({ error: 'expected a positive number of milliseconds' }).optional(),
  // Checked by checkMetadata, the rules code change files follow too.
  ...Object.fromEntries(CHANGE_METADATA_KEYS.map((key) => [key, z.unknown().optional()])),
  commit: z.array(z.unknown(), { error: 'expected a list of operations' }),
  rollback: z.array(z.unknown(), { error: 'expected a list of operations' }).optional(),
});

export type TemplateHeader = z.output<typeof templateHeaderSchema>;

/** The keys an object schema accepts, to list them after an unknown one. */
export function knownKeys(schema: z.ZodType): readonly string[] | undefined {
  const shape = (schema as { shape?: unknown }).shape;
  return isPlainObject(shape) ? Object.keys(shape) : undefined;
}

/**
 * What was expected, in words, for one zod issue. Messages this module
 * wrote begin with "expected"; zod's own are reworded from the issue code.
 */
export function expectationOf(issue: z.core.$ZodIssue): string {
  if (issue.message.startsWith('expected ')) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${noun(issue.expected)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'array') return `expected at least ${String(issue.minimum)} item${Number(issue.minimum) === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return 'expected a non-empty string';
      return `expected a number ${issue.inclusive === true ? 'of at least' : 'greater than'} ${String(issue.minimum)}`;
    case 'too_big':
      return `expected at most ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : ''}`;
    default:
      return issue.message;
  }
}

function noun(expected: string): string {
  switch (expected) {
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'an object';
    case 'boolean':
      return 'true or false';
    case 'int':
      return 'an integer';
    default:
      return `a ${expected}`;
  }
}

/** How a value found in a template is named in messages: `a string "abc"`, `a list`, `nothing`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'string') return `a string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  if (typeof value === 'number') return `the number ${String(value)}`;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'object') return Object.keys(value).length === 0 ? 'an empty object' : 'an object';
  return typeof value;
}

/** `commit[2].createIndex.keys`; keys that are not plain words are quoted: `filter["a.b"]`. */
export function formatPath(path: TemplatePath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text === '' ? '(the template)' : text;
}
