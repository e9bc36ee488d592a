import { EJSON } from 'bson';
import * as v from '../../config/schema-library.js';
import { CHANGE_METADATA_KEYS, METADATA_ENTRIES } from '../change-metadata.js';
import { expectationsSchema } from '../expectations-schema.js';
import { TRANSACTION_MODES } from '../../vocabulary/index.js';

/**
 * The schemas (valibot) of a template's header and of the built-in operations'
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

/** A path of keys as valibot's issues carry it (only the keys are read). */
function issuePath(input: unknown, keys: readonly (string | number)[]): [v.IssuePathItem, ...v.IssuePathItem[]] | undefined {
  if (keys.length === 0) return undefined;
  const [first, ...rest] = keys.map((key) => ({ type: 'unknown', origin: 'value', input, key, value: undefined }) as const);
  return first === undefined ? undefined : [first, ...rest];
}

type AddIssue = (info: { message: string; path?: [v.IssuePathItem, ...v.IssuePathItem[]] | undefined }) => void;

function ejsonChecked(value: unknown, addIssue: AddIssue): void {
  const problem = extendedJsonProblem(value);
  if (problem !== undefined) addIssue({ path: issuePath(value, problem.path), message: `expected valid Extended JSON: ${problem.message}` });
}

const plainObject = (message: string) => v.custom<Document>(isPlainObject, message);

/** Any document (filter, validator, options...); its Extended JSON must decode. */
export const documentSchema = v.pipe(
  plainObject('expected an object'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (dataset.typed) ejsonChecked(dataset.value, addIssue);
  }),
);

const nonEmptyDocument = (what: string) =>
  v.pipe(
    plainObject(`expected ${what}`),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      if (Object.keys(dataset.value).length === 0) addIssue({ message: `expected ${what}, not an empty object` });
      else ejsonChecked(dataset.value, addIssue);
    }),
  );

/**
 * An object with these keys and no others (and not a list). A missing key is reported with its
 * own schema's words (`expected a collection name (a string)`), as if it were there and empty.
 */
function strict<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(
    plainObject('expected an object'),
    v.strictObject(entries, (issue) => {
      if (issue.expected === 'never') return 'unknown key';
      const key = issue.expected?.replace(/^"|"$/g, '');
      const entry = key === undefined ? undefined : entries[key];
      return (entry === undefined ? undefined : v.safeParse(entry, undefined, { message: expectationOf }).issues?.[0]?.message) ?? 'expected an object';
    }),
  );
}

export const collectionNameSchema = v.pipe(
  v.string('expected a collection name (a string)'),
  v.regex(/^(?!system\.)[^$\0]+$/, "expected a collection name: non-empty, without '$', not starting with 'system.'"),
);

const indexNameSchema = v.pipe(v.string('expected an index name (a string)'), v.minLength(1, 'expected a non-empty index name'));

const INDEX_TYPES = ['text', '2d', '2dsphere', 'hashed'];
export type IndexDirection = 1 | -1 | 'text' | '2d' | '2dsphere' | 'hashed';
const indexDirection = v.custom<IndexDirection>(
  (value) => value === 1 || value === -1 || (typeof value === 'string' && INDEX_TYPES.includes(value)),
  'expected 1, -1, "text", "2d", "2dsphere" or "hashed"',
);
const indexKeysSchema = v.pipe(
  plainObject('expected an object of field: direction, e.g. { email: 1 }'),
  v.record(v.string(), indexDirection),
  v.check((keys) => Object.keys(keys).length > 0, 'expected at least one field, e.g. { email: 1 }'),
);

const indexOptionsSchema = v.pipe(
  documentSchema,
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const name = dataset.value.name;
    if (name !== undefined && (typeof name !== 'string' || name === '')) addIssue({ path: issuePath(dataset.value, ['name']), message: 'expected an index name (a non-empty string)' });
  }),
);

/** An update document of operators (`$set`...) or an aggregation pipeline (a list of stages). */
const updateSchema = v.pipe(
  v.custom<Document | Document[]>((value) => isPlainObject(value) || Array.isArray(value), 'expected an update document such as { $set: {...} } or a pipeline (a list of stages)'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const update = dataset.value;
    if (Array.isArray(update)) {
      if (update.length === 0) addIssue({ message: 'expected at least one pipeline stage' });
      update.forEach((stage, index) => {
        if (!isPlainObject(stage) || Object.keys(stage).length !== 1 || !Object.keys(stage)[0]?.startsWith('$')) {
          addIssue({ path: issuePath(update, [index]), message: 'expected a pipeline stage such as { $set: {...} }' });
        }
      });
    } else {
      const keys = Object.keys(update);
      if (keys.length === 0) addIssue({ message: 'expected update operators such as { $set: {...} }, not an empty object' });
      const plain = keys.find((key) => !key.startsWith('$'));
      // The driver refuses a replacement document in updateOne/updateMany; say so before anything runs.
      if (plain !== undefined) addIssue({ path: issuePath(update, [plain]), message: 'expected an update operator such as $set or $unset (a replacement document is not an update)' });
    }
    ejsonChecked(update, addIssue);
  }),
);

const collection = collectionNameSchema;
const oneOf = <const T extends readonly string[]>(values: T) => v.picklist(values, `expected one of ${values.map((value) => JSON.stringify(value)).join(', ')}`);

/** The arguments of each built-in operation, as written in a template. */
export const BUILT_IN_ARGS = {
  createCollection: strict({ name: collectionNameSchema, validator: v.optional(documentSchema), options: v.optional(documentSchema) }),
  dropCollection: strict({ name: collectionNameSchema }),
  createIndex: strict({ collection, keys: indexKeysSchema, options: v.optional(indexOptionsSchema) }),
  dropIndex: strict({ collection, name: indexNameSchema }),
  insertMany: strict({
    collection,
    documents: v.pipe(v.array(documentSchema, 'expected a list of documents'), v.minLength(1, 'expected at least one document')),
    options: v.optional(documentSchema),
  }),
  updateMany: strict({ collection, filter: documentSchema, update: updateSchema, options: v.optional(documentSchema) }),
  updateOne: strict({ collection, filter: documentSchema, update: updateSchema, options: v.optional(documentSchema) }),
  deleteMany: strict({ collection, filter: documentSchema, options: v.optional(documentSchema) }),
  renameCollection: strict({ from: collectionNameSchema, to: collectionNameSchema, dropTarget: v.optional(v.boolean('expected true or false')) }),
  collMod: v.pipe(
    strict({
      collection,
      validator: v.optional(documentSchema),
      validationLevel: v.optional(oneOf(['off', 'strict', 'moderate'])),
      validationAction: v.optional(oneOf(['error', 'warn', 'errorAndLog'])),
      options: v.optional(documentSchema),
    }),
    v.check(
      (args) => args.validator !== undefined || args.validationLevel !== undefined || args.validationAction !== undefined || args.options !== undefined,
      'expected at least one of validator, validationLevel, validationAction or options',
    ),
  ),
  runCommand: strict({ command: nonEmptyDocument('a command document such as { collMod: "users", validator: {...} }') }),
} as const;

export type BuiltInArgs = { readonly [K in keyof typeof BUILT_IN_ARGS]: v.InferOutput<(typeof BUILT_IN_ARGS)[K]> };

/** The keys a template may have, in the order the README lists them. */
export const TEMPLATE_KEYS = ['id', 'description', 'transaction', 'timeoutMs', ...CHANGE_METADATA_KEYS, 'expect', 'commit', 'rollback'] as const;

/** A template's header: everything but the operations, which are checked one by one. */
export const templateHeaderSchema = strict({
  id: v.optional(v.pipe(v.string('expected a string'), v.regex(/^\S+$/, 'expected a non-empty id without spaces'))),
  description: v.optional(v.string('expected a string')),
  transaction: v.optional(oneOf(TRANSACTION_MODES)),
  timeoutMs: v.optional(v.pipe(v.number('expected a number of milliseconds'), v.gtValue(0, 'expected a positive number of milliseconds'))),
  // The rules code change files follow too.
  ...METADATA_ENTRIES,
  expect: v.optional(expectationsSchema),
  commit: v.array(v.unknown(), 'expected a list of operations'),
  rollback: v.optional(v.array(v.unknown(), 'expected a list of operations')),
});

export type TemplateHeader = v.InferOutput<typeof templateHeaderSchema>;

/** The keys an object schema accepts, to list them after an unknown one. */
export function knownKeys(schema: v.GenericSchema): readonly string[] | undefined {
  const parts: readonly unknown[] = 'pipe' in schema && Array.isArray(schema.pipe) ? schema.pipe : [schema];
  for (const part of parts) {
    if (isPlainObject(part) && part.type === 'strict_object' && isPlainObject(part.entries)) return Object.keys(part.entries);
    if (isPlainObject(part) && Array.isArray(part.pipe)) {
      const inner = knownKeys(part as unknown as v.GenericSchema);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

/**
 * What was expected, in words, for one issue. Messages this module wrote begin with "expected";
 * valibot's own are reworded from the issue's type.
 */
export function expectationOf(issue: v.BaseIssue<unknown>): string {
  if (issue.message.startsWith('expected ') || issue.message === 'unknown key') return issue.message;
  switch (issue.type) {
    case 'min_length':
      if (Array.isArray(issue.input)) return `expected at least ${String(issue.requirement)} item${Number(issue.requirement) === 1 ? '' : 's'}`;
      return 'expected a non-empty string';
    case 'max_length':
      return `expected at most ${String(issue.requirement)}${Array.isArray(issue.input) ? ' items' : ' characters'}`;
    case 'min_value':
      return `expected a number of at least ${String(issue.requirement)}`;
    case 'gt_value':
      return `expected a number greater than ${String(issue.requirement)}`;
    default:
      return issue.kind === 'schema' ? `expected ${noun(issue.type)}` : issue.message;
  }
}

function noun(expected: string): string {
  switch (expected) {
    case 'array':
      return 'a list';
    case 'object':
    case 'strict_object':
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
