// How the text of a command-line option becomes its value. A parser throws OptionValueError with
// what was expected; the CLI hands it to commander, which names the option and the value:
// `option '--steps <n>' argument 'many' is invalid. expected a positive whole number`.
import { METADATA_NAME_PATTERN, parseFailureRate, parseWaves } from '../vocabulary/index.js';

/** A value an option does not take: the message says what it expects. */
export class OptionValueError extends Error {
  override get name(): string {
    return 'OptionValueError';
  }
}

/** `30`, `30s`, `500ms`, `2m` -> milliseconds; a bare number means seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (match === null) throw new OptionValueError('expected a duration such as 30, 30s, 500ms or 2m');
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(unit === 'ms' ? amount : unit === 'm' ? amount * 60_000 : amount * 1000);
}

/** Milliseconds as a plain integer (`--timeout 5000`), or a duration with a unit. */
export function parseMilliseconds(value: string): number {
  if (/^\d+$/.test(value.trim())) {
    const ms = Number(value);
    if (ms <= 0) throw new OptionValueError('expected a positive number of milliseconds');
    return ms;
  }
  const ms = parseDuration(value);
  if (ms <= 0) throw new OptionValueError('expected a positive duration');
  return ms;
}

export function parsePositiveInteger(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new OptionValueError('expected a positive whole number');
  return Number(value);
}

export function parsePort(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) > 65535) throw new OptionValueError('expected a port number from 0 to 65535');
  return Number(value);
}

export function parseIsoTime(value: string): Date {
  // Only full ISO 8601 dates: `Date` would also accept "3" or "May" and guess.
  if (!/^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) {
    throw new OptionValueError('expected an ISO 8601 time such as 2024-05-01 or 2024-05-01T12:00:00Z');
  }
  const date = new Date(value.trim());
  if (Number.isNaN(date.getTime())) throw new OptionValueError('expected a valid ISO 8601 time');
  return date;
}

/** `users,orders` -> ['users', 'orders']: names trimmed, none empty. */
export function parseNameList(value: string): string[] {
  const names = value.split(',').map((name) => name.trim());
  if (names.some((name) => name === '')) throw new OptionValueError('expected comma-separated names such as users,orders');
  return [...new Set(names)];
}

/** `--tags billing,search`: a name list whose names have no spaces. */
export function parseTagList(value: string): string[] {
  const names = parseNameList(value);
  const bad = names.find((name) => !METADATA_NAME_PATTERN.test(name));
  if (bad !== undefined) throw new OptionValueError(`${JSON.stringify(bad)} is not a name of letters, digits, _ . : -`);
  return names;
}

/** `--waves 1,10%,rest`: kept as typed (the fleet splits its targets with it); refused when it is no wave list. */
export function parseWaveSpec(value: string): string {
  const waves = parseWaves(value);
  if ('problem' in waves) throw new OptionValueError(waves.problem);
  return value.trim();
}

/** `--max-failure-rate 0.1` or `10%`: a share of a wave's targets between 0 and 1. */
export function parseMaxFailureRate(value: string): number {
  const rate = parseFailureRate(value);
  if (rate === undefined) throw new OptionValueError('expected a share of targets between 0 and 1, such as 0.1 or 10%');
  return rate;
}
