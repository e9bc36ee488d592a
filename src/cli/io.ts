import type { ChalkInstance } from 'chalk';
import { redact } from '../config/redact.js';

/** The process streams and environment a command runs with (tests pass their own). */
export interface CliStreams {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export interface OutputOptions {
  readonly json: boolean;
  readonly color: boolean;
  readonly verbose: boolean;
  /** `json`: one JSON line per event on stderr. */
  readonly logFormat: 'human' | 'json' | 'both';
}

/**
 * Everything the CLI writes goes through here: redacted (every URI's
 * password, and the literal passwords of the configured URIs), coloured only
 * when allowed, and kept off stdout under `--json` except the result.
 */
export class Output {
  readonly #streams: CliStreams;
  readonly #secrets: string[] = [];
  #printedJson = false;
  readonly options: OutputOptions;
  readonly chalk: ChalkInstance;

  constructor(streams: CliStreams, options: OutputOptions, chalk: ChalkInstance) {
    this.#streams = streams;
    this.options = options;
    this.chalk = chalk;
  }

  /**
   * Whether live progress (spinners) may be drawn: a TTY that reports its width (ora's line
   * clearing loops forever on a pseudo-terminal of 0 columns), not CI, colours allowed, human output.
   */
  get interactive(): boolean {
    const env = this.#streams.env;
    const { stdout } = this.#streams;
    const columns = (stdout as { columns?: number }).columns ?? 0;
    return stdout.isTTY === true && columns > 0 && this.options.color && !this.options.json && env.CI !== 'true' && env.CI !== '1';
  }

  get stdout(): NodeJS.WritableStream {
    return this.#streams.stdout;
  }

  addSecrets(secrets: readonly string[]): void {
    for (const secret of secrets) if (!this.#secrets.includes(secret)) this.#secrets.push(secret);
  }

  redact(text: string): string {
    return redact(text, this.#secrets);
  }

  /** A line of human output (stdout); silent under `--json`. */
  info(text = ''): void {
    if (this.options.json) return;
    this.#streams.stdout.write(`${this.redact(text)}\n`);
  }

  /** A diagnostic line (stderr), shown in every mode. */
  warn(text: string): void {
    this.#streams.stderr.write(`${this.redact(text)}\n`);
  }

  error(text: string): void {
    this.#streams.stderr.write(`${this.chalk.red('delta: error:')} ${this.redact(text)}\n`);
  }

  /** Whether the one JSON document of `--json` has been printed (an error after it prints no second one). */
  get printedJson(): boolean {
    return this.#printedJson;
  }

  /**
   * The one JSON document `--json` prints on stdout. A key whose value is absent (undefined) is
   * printed as null rather than left out: a consumer sees the same keys in every document.
   */
  json(value: unknown): void {
    this.#printedJson = true;
    this.#streams.stdout.write(`${this.#encode(value, 2, true)}\n`);
  }

  /** One JSON line per event on stderr (`--log-format json`). */
  event(name: string, payload: object): void {
    this.#streams.stderr.write(`${this.#encode({ event: name, time: new Date().toISOString(), ...payload })}\n`);
  }

  /**
   * JSON with every string redacted before it is encoded: encoding escapes a `"` or `\\` in a
   * password, and the escaped form is no longer what redaction looks for.
   */
  #encode(value: unknown, indent?: number, absentAsNull = false): string {
    const replace = (_key: string, entry: unknown): unknown => (typeof entry === 'string' ? this.redact(entry) : entry === undefined && absentAsNull ? null : entry);
    return this.redact(JSON.stringify(value, replace, indent));
  }
}
