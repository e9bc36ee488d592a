// MongoDB's dialect of JSON Schema (draft 4 plus `bsonType`), used by `$jsonSchema` in queries and
// collection validators. Failures are reported in the shape of mongod's errInfo.details.
import type { Document } from 'bson';
import { bsonTypeOf, isPlainObject, valueKey } from './bson-values.js';
import type { BsonTypeName } from './bson-values.js';
import { CommandError } from './errors.js';

const BSON_TYPE_ALIASES = new Set<string>([
  'double',
  'string',
  'object',
  'array',
  'binData',
  'undefined',
  'objectId',
  'bool',
  'date',
  'null',
  'regex',
  'dbPointer',
  'javascript',
  'symbol',
  'javascriptWithScope',
  'int',
  'timestamp',
  'long',
  'decimal',
  'minKey',
  'maxKey',
  'number',
]);

const JSON_TYPES = new Set(['object', 'array', 'number', 'boolean', 'string', 'null']);

const KEYWORDS = new Set([
  'bsonType',
  'type',
  'required',
  'properties',
  'additionalProperties',
  'patternProperties',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'items',
  'additionalItems',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'multipleOf',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'dependencies',
  'title',
  'description',
]);

// Keywords of JSON Schema that mongod parses but refuses (code 9 FailedToParse).
const UNSUPPORTED_KEYWORDS = new Set(['$ref', '$schema', 'default', 'definitions', 'format', 'id']);

/** One unsatisfied rule, as an element of errInfo.details.schemaRulesNotSatisfied. */
export type SchemaFailure = Document;

export type SchemaCheck = (value: unknown) => SchemaFailure[];

function fail(message: string, code: 'FailedToParse' | 'BadValue' = 'FailedToParse'): never {
  throw new CommandError(code, message);
}

function matchesBsonType(value: unknown, type: string): boolean {
  const actual: BsonTypeName = bsonTypeOf(value);
  if (type === 'number') return actual === 'int' || actual === 'long' || actual === 'double' || actual === 'decimal';
  return actual === type;
}

function matchesJsonType(value: unknown, type: string): boolean {
  const actual = bsonTypeOf(value);
  switch (type) {
    case 'object':
      return actual === 'object';
    case 'array':
      return actual === 'array';
    case 'number':
      return actual === 'int' || actual === 'long' || actual === 'double' || actual === 'decimal';
    case 'boolean':
      return actual === 'bool';
    case 'string':
      return actual === 'string';
    case 'null':
      return actual === 'null';
    default:
      return false;
  }
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  const tag = (value as { _bsontype?: string } | null)?._bsontype;
  if (tag === 'Long' || tag === 'Int32' || tag === 'Double' || tag === 'Decimal128') return Number(String(value));
  return undefined;
}

function typeList(schema: Document, keyword: 'bsonType' | 'type'): string[] {
  const raw = schema[keyword];
  const list = Array.isArray(raw) ? raw : [raw];
  for (const item of list) {
    if (typeof item !== 'string') fail(`$jsonSchema keyword '${keyword}' must be either a string or an array of strings`);
    // An unknown alias is BadValue, as in mongod's type sets (and $type in a query, mingo-context.ts).
    if (keyword === 'bsonType' && !BSON_TYPE_ALIASES.has(item)) fail(`Unknown type name alias: ${item}`, 'BadValue');
    if (keyword === 'type' && !JSON_TYPES.has(item)) {
      if (item === 'integer') fail("JSON type 'integer' is not currently supported.");
      fail(`Unknown type name alias: ${item}`, 'BadValue');
    }
  }
  return list as string[];
}

/** Compiles a `$jsonSchema` document; throws FailedToParse (BadValue for an unknown type name) for schemas mongod would refuse. */
export function compileJsonSchema(schema: unknown): SchemaCheck {
  if (!isPlainObject(schema)) fail('$jsonSchema must be an object');
  const checks: SchemaCheck[] = [];
  for (const keyword of Object.keys(schema)) {
    if (UNSUPPORTED_KEYWORDS.has(keyword)) fail(`$jsonSchema keyword '${keyword}' is not currently supported`);
    if (!KEYWORDS.has(keyword)) fail(`Unknown $jsonSchema keyword: ${keyword}`);
  }
  if (schema.bsonType !== undefined && schema.type !== undefined) fail("Cannot specify both $jsonSchema keywords 'type' and 'bsonType'");

  for (const keyword of ['bsonType', 'type'] as const) {
    if (schema[keyword] === undefined) continue;
    const types = typeList(schema, keyword);
    const matcher = keyword === 'bsonType' ? matchesBsonType : matchesJsonType;
    checks.push((value) =>
      types.some((type) => matcher(value, type))
        ? []
        : [{ operatorName: keyword, specifiedAs: { [keyword]: schema[keyword] }, reason: 'type did not match', consideredValue: value, consideredType: bsonTypeOf(value) }],
    );
  }

  if (schema.enum !== undefined) {
    if (!Array.isArray(schema.enum) || schema.enum.length === 0) fail("$jsonSchema keyword 'enum' must be a non-empty array");
    const allowed = new Set(schema.enum.map(valueKey));
    checks.push((value) => (allowed.has(valueKey(value)) ? [] : [{ operatorName: 'enum', specifiedAs: { enum: schema.enum }, reason: 'value was not found in enum', consideredValue: value }]));
  }

  for (const keyword of ['minimum', 'maximum'] as const) {
    const bound = schema[keyword];
    if (bound === undefined) continue;
    const limit = toNumber(bound);
    if (limit === undefined) fail(`$jsonSchema keyword '${keyword}' must be a number`);
    const exclusive = schema[keyword === 'minimum' ? 'exclusiveMinimum' : 'exclusiveMaximum'] === true;
    checks.push((value) => {
      const n = toNumber(value);
      if (n === undefined) return [];
      const ok = keyword === 'minimum' ? (exclusive ? n > limit : n >= limit) : exclusive ? n < limit : n <= limit;
      if (ok) return [];
      const specifiedAs: Document = { [keyword]: bound };
      if (exclusive) specifiedAs[keyword === 'minimum' ? 'exclusiveMinimum' : 'exclusiveMaximum'] = true;
      return [{ operatorName: keyword, specifiedAs, reason: `comparison failed`, consideredValue: value }];
    });
  }

  if (schema.multipleOf !== undefined) {
    const divisor = toNumber(schema.multipleOf);
    if (divisor === undefined || divisor <= 0) fail("$jsonSchema keyword 'multipleOf' must be a positive number");
    checks.push((value) => {
      const n = toNumber(value);
      if (n === undefined || n % divisor === 0) return [];
      return [{ operatorName: 'multipleOf', specifiedAs: { multipleOf: schema.multipleOf }, reason: 'considered value is not a multiple of the specified value', consideredValue: value }];
    });
  }

  for (const keyword of ['minLength', 'maxLength'] as const) {
    if (schema[keyword] === undefined) continue;
    const limit = toNumber(schema[keyword]);
    if (limit === undefined || limit < 0) fail(`$jsonSchema keyword '${keyword}' must be a non-negative integer`);
    checks.push((value) => {
      if (typeof value !== 'string') return [];
      const length = [...value].length;
      const ok = keyword === 'minLength' ? length >= limit : length <= limit;
      return ok ? [] : [{ operatorName: keyword, specifiedAs: { [keyword]: schema[keyword] }, reason: 'specified string length was not satisfied', consideredValue: value }];
    });
  }

  if (schema.pattern !== undefined) {
    if (typeof schema.pattern !== 'string') fail("$jsonSchema keyword 'pattern' must be a string");
    let regex: RegExp;
    try {
      regex = new RegExp(schema.pattern, 'u');
    } catch {
      fail(`$jsonSchema keyword 'pattern' is not a valid regular expression: ${schema.pattern}`);
    }
    checks.push((value) =>
      typeof value !== 'string' || regex.test(value) ? [] : [{ operatorName: 'pattern', specifiedAs: { pattern: schema.pattern }, reason: 'regular expression did not match', consideredValue: value }],
    );
  }

  if (schema.required !== undefined) {
    const required = schema.required;
    if (!Array.isArray(required) || required.length === 0 || !required.every((item) => typeof item === 'string')) {
      fail("$jsonSchema keyword 'required' must be a non-empty array of strings");
    }
    checks.push((value) => {
      if (!isPlainObject(value)) return [];
      const missing = (required as string[]).filter((name) => !Object.prototype.hasOwnProperty.call(value, name));
      return missing.length === 0 ? [] : [{ operatorName: 'required', specifiedAs: { required }, missingProperties: missing }];
    });
  }

  for (const keyword of ['minProperties', 'maxProperties'] as const) {
    if (schema[keyword] === undefined) continue;
    const limit = toNumber(schema[keyword]);
    if (limit === undefined || limit < 0) fail(`$jsonSchema keyword '${keyword}' must be a non-negative integer`);
    checks.push((value) => {
      if (!isPlainObject(value)) return [];
      const count = Object.keys(value).length;
      const ok = keyword === 'minProperties' ? count >= limit : count <= limit;
      return ok ? [] : [{ operatorName: keyword, specifiedAs: { [keyword]: schema[keyword] }, reason: 'specified number of properties was not satisfied', numberOfProperties: count }];
    });
  }

  const properties = new Map<string, SchemaCheck>();
  if (schema.properties !== undefined) {
    if (!isPlainObject(schema.properties)) fail("$jsonSchema keyword 'properties' must be an object");
    for (const name of Object.keys(schema.properties)) properties.set(name, compileJsonSchema(schema.properties[name]));
    checks.push((value) => {
      if (!isPlainObject(value)) return [];
      const notSatisfied: Document[] = [];
      for (const [name, check] of properties) {
        if (!Object.prototype.hasOwnProperty.call(value, name)) continue;
        const details = check(value[name]);
        if (details.length > 0) notSatisfied.push({ propertyName: name, details });
      }
      return notSatisfied.length === 0 ? [] : [{ operatorName: 'properties', propertiesNotSatisfied: notSatisfied }];
    });
  }

  const patterns: Array<[RegExp, SchemaCheck]> = [];
  if (schema.patternProperties !== undefined) {
    if (!isPlainObject(schema.patternProperties)) fail("$jsonSchema keyword 'patternProperties' must be an object");
    for (const source of Object.keys(schema.patternProperties)) {
      patterns.push([new RegExp(source, 'u'), compileJsonSchema(schema.patternProperties[source])]);
    }
    checks.push((value) => {
      if (!isPlainObject(value)) return [];
      const notSatisfied: Document[] = [];
      for (const name of Object.keys(value)) {
        for (const [regex, check] of patterns) {
          if (!regex.test(name)) continue;
          const details = check(value[name]);
          if (details.length > 0) notSatisfied.push({ propertyName: name, regexMatched: regex.source, details });
        }
      }
      return notSatisfied.length === 0 ? [] : [{ operatorName: 'patternProperties', details: notSatisfied }];
    });
  }

  if (schema.additionalProperties !== undefined) {
    const additional = schema.additionalProperties;
    const check = typeof additional === 'boolean' ? undefined : compileJsonSchema(additional);
    checks.push((value) => {
      if (!isPlainObject(value)) return [];
      const extra = Object.keys(value).filter((name) => !properties.has(name) && !patterns.some(([regex]) => regex.test(name)));
      if (extra.length === 0) return [];
      if (additional === false) {
        return [{ operatorName: 'additionalProperties', specifiedAs: { additionalProperties: false }, additionalProperties: extra }];
      }
      if (check === undefined) return [];
      const failing = extra.flatMap((name) => check(value[name]));
      return failing.length === 0 ? [] : [{ operatorName: 'additionalProperties', reason: 'at least one additional property did not match the subschema', details: failing }];
    });
  }

  if (schema.items !== undefined) {
    const items = schema.items;
    if (Array.isArray(items)) {
      const itemChecks = items.map((item) => compileJsonSchema(item));
      const additionalItems = schema.additionalItems;
      const additionalCheck = additionalItems === undefined || typeof additionalItems === 'boolean' ? undefined : compileJsonSchema(additionalItems);
      checks.push((value) => {
        if (!Array.isArray(value)) return [];
        const failures: Document[] = [];
        value.forEach((item, index) => {
          const check = itemChecks[index];
          if (check !== undefined) {
            const details = check(item);
            if (details.length > 0) failures.push({ operatorName: 'items', reason: 'At least one item did not match the sub-schema', itemIndex: index, details });
          } else if (additionalItems === false) {
            failures.push({ operatorName: 'additionalItems', specifiedAs: { additionalItems: false }, reason: 'found additional items', additionalItems: value.slice(index) });
          } else if (additionalCheck !== undefined) {
            const details = additionalCheck(item);
            if (details.length > 0) failures.push({ operatorName: 'additionalItems', reason: 'At least one additional item did not match the sub-schema', itemIndex: index, details });
          }
        });
        return failures;
      });
    } else {
      const check = compileJsonSchema(items);
      checks.push((value) => {
        if (!Array.isArray(value)) return [];
        for (let index = 0; index < value.length; index++) {
          const details = check(value[index]);
          if (details.length > 0) return [{ operatorName: 'items', reason: 'At least one item did not match the sub-schema', itemIndex: index, details }];
        }
        return [];
      });
    }
  }

  for (const keyword of ['minItems', 'maxItems'] as const) {
    if (schema[keyword] === undefined) continue;
    const limit = toNumber(schema[keyword]);
    if (limit === undefined || limit < 0) fail(`$jsonSchema keyword '${keyword}' must be a non-negative integer`);
    checks.push((value) => {
      if (!Array.isArray(value)) return [];
      const ok = keyword === 'minItems' ? value.length >= limit : value.length <= limit;
      return ok ? [] : [{ operatorName: keyword, specifiedAs: { [keyword]: schema[keyword] }, reason: 'array did not match specified length', consideredValue: value }];
    });
  }

  if (schema.uniqueItems === true) {
    checks.push((value) => {
      if (!Array.isArray(value)) return [];
      const seen = new Set<string>();
      for (const item of value) {
        const key = valueKey(item);
        if (seen.has(key)) return [{ operatorName: 'uniqueItems', specifiedAs: { uniqueItems: true }, reason: 'found a duplicate item', consideredValue: value, duplicatedValue: item }];
        seen.add(key);
      }
      return [];
    });
  }

  for (const keyword of ['allOf', 'anyOf', 'oneOf'] as const) {
    if (schema[keyword] === undefined) continue;
    const list = schema[keyword];
    if (!Array.isArray(list) || list.length === 0) fail(`$jsonSchema keyword '${keyword}' must be a non-empty array`);
    const subChecks = list.map((item) => compileJsonSchema(item));
    checks.push((value) => {
      const results = subChecks.map((check) => check(value));
      const passing = results.filter((result) => result.length === 0).length;
      const ok = keyword === 'allOf' ? passing === results.length : keyword === 'anyOf' ? passing > 0 : passing === 1;
      if (ok) return [];
      return [{ operatorName: keyword, schemasNotSatisfied: results.map((details, index) => ({ index, details })).filter((r) => r.details.length > 0) }];
    });
  }

  if (schema.not !== undefined) {
    const check = compileJsonSchema(schema.not);
    checks.push((value) => (check(value).length === 0 ? [{ operatorName: 'not', specifiedAs: { not: schema.not }, reason: 'child expression matched' }] : []));
  }

  if (schema.dependencies !== undefined) {
    if (!isPlainObject(schema.dependencies)) fail("$jsonSchema keyword 'dependencies' must be an object");
    const dependencies = schema.dependencies;
    const compiled = new Map<string, string[] | SchemaCheck>();
    for (const name of Object.keys(dependencies)) {
      const dependency = dependencies[name];
      compiled.set(name, Array.isArray(dependency) ? (dependency as string[]) : compileJsonSchema(dependency));
    }
    checks.push((value) => {
      if (!isPlainObject(value)) return [];
      const failures: Document[] = [];
      for (const [name, dependency] of compiled) {
        if (!Object.prototype.hasOwnProperty.call(value, name)) continue;
        if (Array.isArray(dependency)) {
          const missing = dependency.filter((required) => !Object.prototype.hasOwnProperty.call(value, required));
          if (missing.length > 0) failures.push({ conditionalProperty: name, missingProperties: missing });
        } else {
          const details = dependency(value);
          if (details.length > 0) failures.push({ conditionalProperty: name, details });
        }
      }
      return failures.length === 0 ? [] : [{ operatorName: 'dependencies', failingDependencies: failures }];
    });
  }

  return (value) => {
    const failures: SchemaFailure[] = [];
    for (const check of checks) failures.push(...check(value));
    return failures;
  };
}

/** The predicate mingo calls for `$jsonSchema` in queries and validators. */
export function jsonSchemaPredicate(schema: Record<string, unknown>): (document: Record<string, unknown>) => boolean {
  const check = compileJsonSchema(schema);
  return (document) => check(document).length === 0;
}
