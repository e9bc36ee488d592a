import { createHash } from 'node:crypto';

/**
 * sha256 of a change file's bytes with CRLF and lone CR normalised to LF, so
 * the same file checked out on Windows does not look modified. Bytes are read
 * as latin1 so that non-UTF-8 content hashes exactly as it is.
 */
export function checksumOf(content: Buffer | string): string {
  const text = typeof content === 'string' ? Buffer.from(content, 'utf8').toString('latin1') : content.toString('latin1');
  return createHash('sha256').update(text.replace(/\r\n?/g, '\n'), 'latin1').digest('hex');
}
