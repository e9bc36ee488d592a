// The parts of valibot delta validates with, in one place. valibot ships as one ~200 kB module
// built to be tree-shaken; loading all of it costs every command about 15 ms of CPU. `npm run
// build` therefore replaces the compiled copy of this file with a bundle of just these exports
// (scripts/bundle-schema-library.mjs, esbuild), which loads in a few. Add a name here before
// using it; src and the tests (through tsx) use valibot itself.
export {
  array,
  boolean,
  check,
  custom,
  finite,
  gtValue,
  integer,
  literal,
  looseObject,
  maxLength,
  maxValue,
  minLength,
  minValue,
  number,
  object,
  optional,
  picklist,
  pipe,
  rawCheck,
  record,
  regex,
  safeParse,
  strictObject,
  string,
  transform,
  union,
  unknown,
} from 'valibot';
export type { BaseIssue, GenericSchema, InferOutput, IssuePathItem, ObjectEntries } from 'valibot';
