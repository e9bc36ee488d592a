import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { BackupInvalidError } from '../errors.js';
import type { BackupFile } from './manifest.js';

/** mongod's largest document (16 MiB) plus the headroom it allows internally. */
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024 + 16 * 1024;

/**
 * Writes raw BSON documents to `path` one after another (the layout of
 * mongodump's `.bson` files), waiting for `drain` whenever the stream's
 * buffer is full so that memory stays bounded whatever the collection's size.
 * Returns the file's size and sha256, computed as it is written.
 */
export async function writeBsonFile(path: string, documents: AsyncIterable<Uint8Array>, onDocument?: (bytes: number) => void): Promise<Omit<BackupFile, 'path'> & { documents: number }> {
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600, highWaterMark: 1024 * 1024 });
  const hash = createHash('sha256');
  let bytes = 0;
  let count = 0;
  // A write error (disk full) rejects here rather than as an unhandled 'error' event.
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  try {
    for await (const document of documents) {
      hash.update(document);
      bytes += document.length;
      count += 1;
      onDocument?.(document.length);
      if (!out.write(document)) await Promise.race([once(out, 'drain'), failed]);
    }
    out.end();
    await Promise.race([finished(out), failed]);
  } catch (error) {
    out.destroy();
    throw error;
  }
  return { bytes, sha256: hash.digest('hex'), documents: count };
}

/**
 * The documents of a `.bson` file, read incrementally: each starts with its
 * int32 little-endian length, so a document is sliced out as soon as its last
 * byte has arrived. A truncated or garbled file is a BackupInvalidError naming it.
 */
export async function* readBsonFile(path: string, label = path): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  let offset = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    const data = chunk as Buffer;
    pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
    let start = 0;
    while (pending.length - start >= 4) {
      const size = pending.readInt32LE(start);
      if (size < 5 || size > MAX_DOCUMENT_BYTES) throw new BackupInvalidError(`${label}: not a BSON document at byte ${offset + start} (length ${size})`, label);
      if (pending.length - start < size) break;
      yield pending.subarray(start, start + size);
      start += size;
    }
    offset += start;
    pending = pending.subarray(start);
  }
  if (pending.length > 0) throw new BackupInvalidError(`${label}: truncated: ${pending.length} bytes left after the last whole document`, label);
}

/** sha256 and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * File names for collections: the name %-escaped as UTF-8 (letters, digits, `.`, `_`, `-` kept; a leading
 * `.` escaped), with `~2`, `~3`... added when two names differ only in case (macOS and Windows folders).
 */
export function fileStems(collections: readonly string[]): Map<string, string> {
  const stems = new Map<string, string>();
  const taken = new Set<string>();
  for (const name of collections) {
    const base = encodeURIComponent(name)
      .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/^\./, '%2E');
    let stem = base;
    for (let n = 2; taken.has(stem.toLowerCase()); n += 1) stem = `${base}~${n}`;
    taken.add(stem.toLowerCase());
    stems.set(name, stem);
  }
  return stems;
}
