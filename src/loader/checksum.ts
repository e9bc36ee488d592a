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
