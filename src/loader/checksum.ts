import { closeSync, openSync, readSync } from 'node:fs';
import { hash } from 'node:crypto';

/**
 * sha256 of a change file's bytes with CRLF and lone CR normalised to LF, so
 * the same file checked out on Windows does not look modified. Bytes are read
 * as latin1 so that non-UTF-8 content hashes exactly as it is.
 */
export function checksumOf(content: Buffer | string): string {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  // Most files have no CR: their bytes are hashed as they are, in one call (no copy, no hash object).
  if (!bytes.includes(CR)) return hash('sha256', bytes, 'hex');
  return hash('sha256', Buffer.from(bytes.toString('latin1').replace(/\r\n?/g, '\n'), 'latin1'), 'hex');
}

const CR = 0x0d;

/**
 * Hashes files one after another through one buffer, grown to the largest file, where
 * `readFileSync` would allocate a Buffer (and a stat) per file: 10,000 change files then leave
 * 10,000 buffers to the garbage collector, whose young generation grows to hold them (issue 22).
 */
export class FileHasher {
  #buffer = Buffer.allocUnsafe(64 * 1024);

  /** `checksumOf` the bytes of the file at `path`. */
  checksumOfFile(path: string): string {
    return checksumOf(this.read(path));
  }

  /** The bytes of the file at `path`, valid until the next read. */
  read(path: string): Buffer {
    const fd = openSync(path, 'r');
    let length = 0;
    try {
      for (;;) {
        if (length === this.#buffer.length) {
          const larger = Buffer.allocUnsafe(this.#buffer.length * 2);
          this.#buffer.copy(larger, 0, 0, length);
          this.#buffer = larger;
        }
        const read = readSync(fd, this.#buffer, length, this.#buffer.length - length, null);
        if (read === 0) break;
        length += read;
      }
    } finally {
      closeSync(fd);
    }
    return this.#buffer.subarray(0, length);
  }
}
