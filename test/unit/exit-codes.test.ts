import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExitCode, exitCodeFor } from '../../src/cli/exit-codes.js';
import {
  BackupFailedError,
  BackupInvalidError,
  ChangeFailedError,
  ChangeFileError,
  ConfigError,
  DatabaseError,
  DeltaErrorCodes,
  DriftError,
  InterruptedError,
  LockHeldError,
  LockLostError,
  RestoreRefusedError,
  RollbackUnavailableError,
  TransactionUnsupportedError,
  UnknownChangeError,
  UsageError,
  ValidationError,
} from '../../src/errors.js';

describe('exit codes (DESIGN.md section 7)', () => {
  const cases: [Error & { code: (typeof DeltaErrorCodes)[keyof typeof DeltaErrorCodes] }, number][] = [
    [new UsageError('x'), 2],
    [new ConfigError('x'), 2],
    [new ChangeFileError('x', 'a.ts'), 2],
    [new UnknownChangeError('x', 'id'), 2],
    [new TransactionUnsupportedError('x'), 2],
    [new RollbackUnavailableError('x'), 2],
    [new ChangeFailedError('x', 'id'), 1],
    [new DatabaseError('x'), 1],
    [new LockHeldError('x', undefined), 3],
    [new LockLostError('x'), 3],
    [new DriftError('x'), 4],
    [new ValidationError('x'), 4],
    [new InterruptedError('x'), 130],
    [new BackupFailedError('x'), 1],
    [new BackupInvalidError('x', 'users.bson'), 2],
    [new RestoreRefusedError('x', ['users']), 2],
  ];
  for (const [error, exit] of cases) {
    it(`${error.name} (${error.code}) -> ${exit}`, () => assert.equal(exitCodeFor(error.code), exit));
  }

  it('every error code has an exit code', () => {
    const all = new Set<number>(Object.values(ExitCode));
    for (const code of Object.values(DeltaErrorCodes)) assert.ok(all.has(exitCodeFor(code)), code);
  });

  it('errors keep their cause and a readable name', () => {
    const cause = new Error('driver said no');
    const error = new DatabaseError('database error', { cause });
    assert.equal(error.cause, cause);
    assert.equal(error.name, 'DatabaseError');
  });
});
