// Saving the sandbox to a file on stop() and loading it on start. The format is a plain sequence of
// BSON documents (so every bson type survives exactly): a header, then per collection a
// descriptor { db, name, uuid, options, indexes, count } followed by its `count` documents.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { BSON } from 'bson';
import type { Document, UUID } from 'bson';
import { Collection } from './collection.js';
import type { Storage } from './storage.js';
import { deserializeDocument } from './wire-protocol.js';

const FORMAT = 'delta-sandbox';
const VERSION = 1;
const FLUSH_BYTES = 4 * 1024 * 1024;

/** Writes every committed document, index and collection option to `path` (atomically, via rename). */
export async function saveStorage(storage: Storage, path: string): Promise<void> {
  // A random name opened with 'wx' (create, never follow or reuse): a predictable name with 'w'
  // followed a symlink planted at it and overwrote whatever it pointed to. 0600: the data is the
  // user's own.
  const temporary = `${path}.tmp-${randomBytes(8).toString('hex')}`;
  const file = await open(temporary, 'wx', 0o600);
  try {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const push = async (document: Document): Promise<void> => {
      const bytes = BSON.serialize(document);
      pending.push(bytes);
      pendingBytes += bytes.length;
      if (pendingBytes >= FLUSH_BYTES) await flush();
    };
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      await file.write(Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
    };
    await push({ format: FORMAT, version: VERSION, savedAt: new Date() });
    for (const collection of storage.allCollections()) {
      const documents = [...collection.committedDocuments()];
      await push({
        db: collection.database,
        name: collection.name,
        uuid: collection.uuid,
        options: collection.options,
        indexes: collection.indexSpecs().slice(1),
        count: documents.length,
      });
      for (const document of documents) await push(document);
    }
    await flush();
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path).catch(async (error: unknown) => {
    await rm(temporary, { force: true });
    throw error;
  });
}

function* readDocuments(bytes: Buffer): Generator<Document> {
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) throw new Error(`truncated sandbox file at byte ${offset}`);
    const size = bytes.readInt32LE(offset);
    if (size < 5 || offset + size > bytes.length) throw new Error(`corrupt sandbox file: bad document length at byte ${offset}`);
    yield deserializeDocument(bytes.subarray(offset, offset + size));
    offset += size;
  }
}

/** Loads a file written by saveStorage into an empty storage; returns false when it does not exist. */
export async function loadStorage(storage: Storage, path: string): Promise<boolean> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  const documents = readDocuments(bytes);
  const header = documents.next();
  if (header.done === true || header.value.format !== FORMAT) throw new Error(`${path} is not a delta sandbox file`);
  if (header.value.version !== VERSION) throw new Error(`${path} has sandbox file version ${String(header.value.version)}, expected ${VERSION}`);
  const seq = storage.nextSeq();
  for (let step = documents.next(); step.done !== true; step = documents.next()) {
    const descriptor = step.value;
    const collection = new Collection(storage, descriptor.db as string, descriptor.name as string, (descriptor.options as Document) ?? {}, descriptor.uuid as UUID);
    for (const spec of (descriptor.indexes as Document[]) ?? []) collection.addIndex(spec);
    const count = Number(descriptor.count ?? 0);
    for (let i = 0; i < count; i++) {
      const next = documents.next();
      if (next.done === true) throw new Error(`${path} ends inside collection ${collection.namespace}`);
      collection.load(next.value, seq);
    }
    storage.attach(collection);
  }
  return true;
}
