import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Document as YamlDocument } from 'yaml';
import { LineCounter, parseDocument } from 'yaml';
import * as v from '../../config/schema-library.js';
import { ChangeFileError, messageOf } from '../../errors.js';
import { metadataFrom } from '../change-metadata.js';
import type { TransactionFit } from './operations.js';
import { bindBuiltIn } from './operations.js';
import type { TemplatePath } from './template-schema.js';
import { BUILT_IN_ARGS, TEMPLATE_KEYS, decodeExtendedJson, describeValue, expectationOf, extendedJsonProblem, formatPath, isPlainObject, knownKeys, templateHeaderSchema } from './template-schema.js';
import type {
  BuiltInOperationName,
  ChangeContext,
  ChangeExpectations,
  ChangeFunction,
  ChangeMetadata,
  ChangeUnit,
  OperationDefinition,
  OperationRegistration,
  OperationRegistry,
  StandardIssue,
  TransactionMode,
} from '../../vocabulary/index.js';
import { BUILT_IN_OPERATIONS, OPERATION_NAME_PATTERN } from '../../vocabulary/index.js';
import type { TemplatePermissions } from './template-guard.js';
import { refusalOf } from './template-guard.js';

export interface TemplateOptions {
  /** Custom operations from the configuration's `operations`. */
  readonly operations?: OperationRegistry | undefined;
  /** What templates may do beyond data operations, and delta's own collections they may never touch. */
  readonly permissions?: TemplatePermissions | undefined;
}

/** The file a template comes from, as the loader scanned it. */
export interface TemplateFile {
  /** File name relative to the change folder. */
  readonly file: string;
  readonly absolutePath: string;
  readonly extension: string;
  /** Of the file's bytes, computed when the folder was scanned (as for code files). */
  readonly checksum: string;
  /** The id its name gives (the file name without its extension). */
  readonly id?: string;
}

/** One operation of a template, checked and bound to its arguments. */
export interface TemplateStep {
  /** `commit[2] createIndex orders.by_customer`, for error messages. */
  readonly label: string;
  readonly transaction: TransactionFit;
  /** The step that certainly undoes this one, when there is one. */
  readonly inverse: TemplateStep | undefined;
  run(context: ChangeContext): Promise<void>;
}

/** A template after parsing and checking: what the change unit is built from. */
export interface ParsedTemplate {
  readonly id: string | undefined;
  readonly description: string | undefined;
  readonly transaction: TransactionMode | undefined;
  readonly timeoutMs: number | undefined;
  readonly metadata: ChangeMetadata;
  /** What its commit may write (see ChangeExpectations). */
  readonly expect: ChangeExpectations | undefined;
  readonly commit: readonly TemplateStep[];
  /** Written in the file, derived from `commit`, or undefined (the change cannot be rolled back). */
  readonly rollback: readonly TemplateStep[] | undefined;
  readonly rollbackDerived: boolean;
}

/** Reads, parses and checks a YAML or JSON template; every problem is a one-line ChangeFileError. */
export async function loadTemplate(entry: TemplateFile, options: TemplateOptions = {}): Promise<ChangeUnit> {
  const text = await readFile(entry.absolutePath, 'utf8');
  const template = await parseTemplate(text, entry.file, options);
  const steps =
    (list: readonly TemplateStep[]): ChangeFunction =>
    (context) =>
      runSteps(list, context);
  return {
    id: template.id ?? entry.id ?? basename(entry.file, entry.extension),
    file: entry.file,
    checksum: entry.checksum,
    description: template.description,
    stage: undefined,
    metadata: template.metadata,
    transaction: template.transaction,
    timeoutMs: template.timeoutMs,
    backup: undefined,
    style: 'delta',
    commit: steps(template.commit),
    rollback: template.rollback === undefined ? undefined : steps(template.rollback),
    expect: template.expect,
  };
}

/**
 * Parses a template's text (YAML 1.2, of which JSON is a subset) and checks
 * it: the header, then each operation against its schema. The first problem
 * is thrown, naming the file, the line, the path inside the template and
 * what was expected: `orders.yaml:7: commit[2].createIndex.keys: expected an object ... (got a list)`.
 */
export async function parseTemplate(text: string, file: string, options: TemplateOptions = {}): Promise<ParsedTemplate> {
  const lineCounter = new LineCounter();
  // Duplicate keys are errors (uniqueKeys); YAML 1.2's core schema keeps `yes`, `on` and dates as strings.
  const document = parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter, uniqueKeys: true, prettyErrors: true });
  const syntax = document.errors[0];
  if (syntax !== undefined) {
    const at = syntax.linePos?.[0];
    const message = syntax.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? syntax.message;
    throw new ChangeFileError(`${file}${at === undefined ? '' : `:${at.line}:${at.col}`}: syntax error: ${message}`, file);
  }
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ChangeFileError(`${file}: syntax error: ${messageOf(error)}`, file, { cause: error });
  }
  const fail = (path: TemplatePath, expectation: string, got?: unknown, showGot = true): never => {
    const line = lineOf(document, lineCounter, path);
    const found = showGot ? ` (got ${got === undefined ? describeValue(valueAt(raw, path)) : String(got)})` : '';
    throw new ChangeFileError(`${file}${line === undefined ? '' : `:${line}`}: ${formatPath(path)}: ${expectation}${found}`, file);
  };
  const failWithIssue = (prefix: TemplatePath, issue: v.BaseIssue<unknown>, keys: readonly string[] | undefined): never => {
    const path = [...prefix, ...(issue.path ?? []).map((item) => item.key as string | number)];
    if (isUnknownKey(issue)) return fail(path, `unknown key${keys === undefined ? '' : ` (expected ${keys.join(', ')})`}`, undefined, false);
    return fail(path, expectationOf(issue));
  };

  if (!isPlainObject(raw)) {
    return fail([], `expected a mapping with commit: [operations] and optionally ${TEMPLATE_KEYS.filter((k) => k !== 'commit').join(', ')}`, raw === null ? 'an empty file' : undefined);
  }
  // `commit:` with only comments under it (as `delta create --yaml` writes) is an empty list;
  // an empty `rollback:` means no rollback was written, never "undo nothing".
  const input: Record<string, unknown> = { ...raw };
  if (input.commit === null) input.commit = [];
  if (input.rollback === null) delete input.rollback;
  const header = v.safeParse(templateHeaderSchema, input, { message: expectationOf });
  if (!header.success) return failWithIssue([], firstIssue(header.issues), TEMPLATE_KEYS);

  const registry = options.operations ?? {};
  const bind = async (list: 'commit' | 'rollback', items: readonly unknown[]): Promise<TemplateStep[]> => {
    const steps: TemplateStep[] = [];
    for (const [index, item] of items.entries()) {
      const at: TemplatePath = [list, index];
      const keys = isPlainObject(item) ? Object.keys(item) : [];
      const name = keys[0];
      if (!isPlainObject(item) || keys.length !== 1 || name === undefined) {
        const found = isPlainObject(item) ? (keys.length === 0 ? 'an empty object' : `the keys ${keys.join(', ')}`) : undefined;
        return fail(at, 'expected one operation: an object with a single key, the operation name, e.g. { createIndex: { collection: ..., keys: {...} } }', found);
      }
      const args = item[name];
      const label = `${list}[${index}] ${name}`;
      if ((BUILT_IN_OPERATIONS as readonly string[]).includes(name)) {
        const builtInName = name as BuiltInOperationName;
        const schema: v.GenericSchema = BUILT_IN_ARGS[builtInName];
        const parsed = v.safeParse(schema, args, { message: expectationOf });
        if (!parsed.success) return failWithIssue([...at, name], firstIssue(parsed.issues), knownKeys(schema));
        const refusal = refusalOf(builtInName, parsed.output as Readonly<Record<string, unknown>>, options.permissions ?? {});
        if (refusal !== undefined) return fail([...at, name, ...refusal.path], refusal.message, undefined, false);
        steps.push(builtInStep(label, builtInName, parsed.output));
      } else if (Object.hasOwn(registry, name) && OPERATION_NAME_PATTERN.test(name)) {
        steps.push(
          await customStep(label, name, registry[name] as OperationRegistration, args, (path, message, saysWhatItGot) => fail([...at, name, ...path], message, undefined, saysWhatItGot !== true)),
        );
      } else {
        const custom = Object.keys(registry);
        return fail(
          [...at, name],
          `unknown operation; expected one of ${BUILT_IN_OPERATIONS.join(', ')}${custom.length === 0 ? ', or one registered under operations in the configuration' : `, or the configured ${custom.join(', ')}`}`,
          undefined,
          false,
        );
      }
    }
    return steps;
  };

  const commit = await bind('commit', header.output.commit);
  const written = header.output.rollback === undefined ? undefined : await bind('rollback', header.output.rollback);
  // Derived only when every commit operation has a certain inverse: undone in reverse order.
  const derived = written === undefined && commit.every((step) => step.inverse !== undefined) ? commit.map((step) => step.inverse as TemplateStep).reverse() : undefined;
  const rollback = written ?? derived;

  const all = [...commit, ...(rollback ?? [])];
  const refused = all.find((step) => step.transaction === 'no');
  let transaction = header.output.transaction;
  if (transaction === undefined) {
    if (all.some((step) => step.transaction !== 'yes')) transaction = 'never';
  } else if (transaction !== 'never' && refused !== undefined) {
    fail(['transaction'], `expected 'never' or no transaction key: ${refused.label} cannot run inside a transaction`);
  }
  return {
    id: header.output.id,
    description: header.output.description,
    transaction,
    timeoutMs: header.output.timeoutMs,
    metadata: metadataFrom(header.output),
    expect: header.output.expect,
    commit,
    rollback,
    rollbackDerived: derived !== undefined,
  };
}

/** Runs the steps in order, stopping at the first failure or once the change's signal fires. */
async function runSteps(steps: readonly TemplateStep[], context: ChangeContext): Promise<void> {
  for (const step of steps) {
    if (context.signal.aborted) throw context.signal.reason;
    try {
      await step.run(context);
    } catch (error) {
      throw new OperationFailedError(step.label, error);
    }
  }
}

/**
 * An operation's failure, prefixed with where it is in the template. The
 * driver's `code` and error labels stay visible, so the tracker records the
 * server's code and the runner still retries a TransientTransactionError.
 */
export class OperationFailedError extends Error {
  readonly code: unknown;

  constructor(label: string, cause: unknown) {
    super(`${label}: ${messageOf(cause)}`, { cause });
    this.code = (cause as { code?: unknown } | null)?.code;
  }

  override get name(): string {
    return 'OperationFailedError';
  }

  hasErrorLabel(label: string): boolean {
    const cause = this.cause as { hasErrorLabel?: (label: string) => boolean; errorLabels?: unknown } | null;
    if (typeof cause?.hasErrorLabel === 'function') return cause.hasErrorLabel(label);
    return Array.isArray(cause?.errorLabels) && cause.errorLabels.includes(label);
  }
}

function builtInStep(label: string, name: BuiltInOperationName, args: unknown, derivedFrom?: string): TemplateStep {
  const bound = bindBuiltIn(name, args);
  // An inverse is derived from what the file says, never from another inverse.
  const inverse = derivedFrom === undefined ? bound.inverse() : undefined;
  return {
    label: `${label} ${bound.describe()}`,
    transaction: bound.transaction,
    inverse: inverse === undefined ? undefined : builtInStep(`rollback (derived from ${label.split(' ')[0] ?? label}) ${inverse.name}`, inverse.name, inverse.args, label),
    // A derived inverse treats "already gone" as done: it may compensate a commit that stopped halfway.
    run: (context) => bound.run(context, derivedFrom !== undefined),
  };
}

async function customStep(
  label: string,
  name: string,
  registration: OperationRegistration,
  args: unknown,
  fail: (path: TemplatePath, message: string, saysWhatItGot?: boolean) => never,
): Promise<TemplateStep> {
  const definition: OperationDefinition = typeof registration === 'function' ? { run: registration } : registration;
  const problem = extendedJsonProblem(args);
  if (problem !== undefined) return fail(problem.path, `expected valid Extended JSON: ${problem.message}`);
  // Checked now, so that a bad argument stops the run before anything runs.
  const first = await validateArgs(definition, args);
  if ('issue' in first) return fail(issuePath(first.issue), first.issue.message, /\breceived\b/.test(first.issue.message));
  return {
    label,
    transaction: definition.transactional === false ? 'no' : 'yes',
    inverse: undefined,
    async run(context) {
      // Decoded and validated again on every run, so that the operation gets fresh objects.
      const checked = await validateArgs(definition, args);
      if ('issue' in checked) throw new Error(`${name}: ${checked.issue.message}`);
      await definition.run(context, checked.value);
    },
  };
}

async function validateArgs(definition: OperationDefinition, args: unknown): Promise<{ value: unknown } | { issue: StandardIssue }> {
  const decoded = decodeExtendedJson(args);
  if (definition.args === undefined) return { value: decoded };
  const result = await definition.args['~standard'].validate(decoded);
  if (result.issues !== undefined) return { issue: result.issues[0] ?? { message: 'invalid arguments' } };
  return { value: result.value };
}

function issuePath(issue: StandardIssue): TemplatePath {
  return (issue.path ?? []).map((segment) => {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
    return typeof key === 'number' ? key : String(key);
  });
}

/**
 * The issue to report: an unknown key first (a misspelt `colection` also
 * makes `collection` missing, and the typo is the cause), else the first in
 * schema order.
 */
function firstIssue(issues: readonly [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]]): v.BaseIssue<unknown> {
  return issues.find(isUnknownKey) ?? issues[0];
}

/** valibot's word for a key a strict object does not have: it expected `never` there. */
function isUnknownKey(issue: v.BaseIssue<unknown>): boolean {
  return issue.type === 'strict_object' && issue.expected === 'never';
}

function valueAt(root: unknown, path: TemplatePath): unknown {
  let value = root;
  for (const segment of path) {
    if (Array.isArray(value) && typeof segment === 'number') value = value[segment];
    else if (isPlainObject(value) && typeof segment === 'string' && Object.hasOwn(value, segment)) value = value[segment];
    else return undefined;
  }
  return value;
}

/** The line of the deepest node of `path` present in the file (a missing key points at its parent). */
function lineOf(document: YamlDocument, lineCounter: LineCounter, path: TemplatePath): number | undefined {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node = depth === 0 ? document.contents : document.getIn(path.slice(0, depth), true);
    const range = (node as { range?: readonly number[] } | null | undefined)?.range;
    if (range?.[0] !== undefined) return lineCounter.linePos(range[0]).line;
  }
  return undefined;
}
