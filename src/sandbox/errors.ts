// MongoDB server error codes the sandbox answers with, and the error type that carries one
// from deep inside a command back to the wire as `{ ok: 0, code, codeName, errmsg }`.
import type { Document } from 'bson';

/** Code numbers and names exactly as mongod reports them (src/mongo/base/error_codes.yml). */
export const ERROR_CODES = {
  InternalError: 1,
  BadValue: 2,
  NoSuchKey: 4,
  FailedToParse: 9,
  Unauthorized: 13,
  TypeMismatch: 14,
  InvalidLength: 16,
  AuthenticationFailed: 18,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  PathNotViable: 28,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NamespaceExists: 48,
  MaxTimeMSExpired: 50,
  DollarPrefixedFieldName: 52,
  InvalidIdField: 53,
  NotSingleValueField: 54,
  EmptyFieldName: 56,
  CommandNotFound: 59,
  ImmutableField: 66,
  CannotCreateIndex: 67,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  OperationFailed: 96,
  WriteConflict: 112,
  ConflictingOperationInProgress: 117,
  DocumentValidationFailure: 121,
  InvalidPipelineOperator: 168,
  CannotIndexParallelArrays: 171,
  InvalidIndexSpecificationOption: 197,
  QueryFeatureNotAllowed: 224,
  NoSuchTransaction: 251,
  TransactionCommitted: 256,
  TransactionTooOld: 225,
  IncompleteTransactionHistory: 217,
  NotImplemented: 238,
  OperationNotSupportedInTransaction: 263,
  AmbiguousIndexKeyPattern: 288,
  DuplicateKey: 11000,
  NotWritablePrimary: 10107,
  Location40414: 40414,
  Location40415: 40415,
  Location51024: 51024,
  Location40323: 40323,
  Location40324: 40324,
  Location40234: 40234,
  Location40235: 40235,
  Location40238: 40238,
  Location15947: 15947,
  Location15952: 15952,
  Location15955: 15955,
  Location15956: 15956,
  Location15957: 15957,
  Location15958: 15958,
  Location15972: 15972,
  Location40571: 40571,
  Location31254: 31254,
  Location16410: 16410,
  Location15974: 15974,
  Location51091: 51091,
  NotARetryableWriteCommand: 50768,
} as const;

export type ErrorCodeName = keyof typeof ERROR_CODES;

const NAMES_BY_CODE = new Map<number, string>(Object.entries(ERROR_CODES).map(([name, code]) => [code, name]));

/** The codeName mongod pairs with a numeric code (`Location<n>` for assertion-site codes). */
export function codeNameOf(code: number): string {
  return NAMES_BY_CODE.get(code) ?? `Location${code}`;
}

/** A failure answered to the client as a MongoDB command error. */
export class CommandError extends Error {
  readonly code: number;
  readonly codeName: string;
  readonly errorLabels: string[];
  /** Extra reply fields such as `keyPattern`, `keyValue`, `errInfo`. */
  readonly extra: Document;

  constructor(name: ErrorCodeName, errmsg: string, options: { errorLabels?: string[]; extra?: Document } = {}) {
    super(errmsg);
    this.name = 'CommandError';
    this.code = ERROR_CODES[name];
    this.codeName = name;
    this.errorLabels = options.errorLabels ?? [];
    this.extra = options.extra ?? {};
  }

  /** An error with a code the table does not name (for example one injected by a fault). */
  static withCode(code: number, errmsg: string, codeName?: string, errorLabels?: string[]): CommandError {
    const error = new CommandError('InternalError', errmsg, { errorLabels });
    Object.defineProperty(error, 'code', { value: code });
    Object.defineProperty(error, 'codeName', { value: codeName ?? codeNameOf(code) });
    return error;
  }

  /** The error as the `writeErrors[]` entry of a write command reply. */
  toWriteError(index: number): Document {
    return { index, code: this.code, errmsg: this.message, ...this.extra };
  }

  /** The error as a whole-command failure reply (before cluster time is attached). */
  toReply(): Document {
    const reply: Document = { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
    if (this.errorLabels.length > 0) reply.errorLabels = [...this.errorLabels];
    return reply;
  }
}

export const TRANSIENT_TRANSACTION_ERROR = 'TransientTransactionError';

/** `BSON field '<cmd>.<field>' is an unknown field.` (code 40415), as the IDL parser answers. */
export function unknownFieldError(command: string, field: string): CommandError {
  return new CommandError('Location40415', `BSON field '${command}.${field}' is an unknown field.`);
}

/** Type errors raised while parsing command arguments (code 14 TypeMismatch). */
export function typeMismatch(command: string, field: string, expected: string, actual: unknown): CommandError {
  return new CommandError('TypeMismatch', `BSON field '${command}.${field}' is the wrong type '${bsonTypeNameForMessage(actual)}', expected type '${expected}'`);
}

function bsonTypeNameForMessage(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? 'int' : 'double';
  if (value instanceof Date) return 'date';
  const bsontype = (value as { _bsontype?: string })._bsontype;
  if (bsontype !== undefined) return bsontype.toLowerCase();
  return 'object';
}
