import type { Db, Document } from 'mongodb';

/** One collection copied into the scratch database. */
export interface CopiedCollection {
  readonly name: string;
  readonly type: string;
  /** Documents copied (at most the sample size). */
  readonly documents: number;
  /** Documents it holds on the target (estimated). */
  readonly total: number;
}

/**
 * Copies the collections of `from` (not `exclude`, not `system.*`) into the empty `to`: each with
 * its options and validator, its indexes, and up to `sample` documents (in `_id` order); views
 * after the collections they read. Only reads `from`.
 */
export async function copySample(from: Db, to: Db, exclude: readonly string[], sample: number): Promise<CopiedCollection[]> {
  const infos = (await from.listCollections({}, { nameOnly: false }).toArray()).filter((info) => !exclude.includes(info.name) && !info.name.startsWith('system.'));
  const copied: CopiedCollection[] = [];
  const views = infos.filter((info) => info.type === 'view');
  for (const info of infos.filter((i) => i.type !== 'view').sort((a, b) => a.name.localeCompare(b.name))) {
    const source = from.collection(info.name);
    await to.createCollection(info.name, (info.options ?? {}) as Document);
    const indexes = (await source.listIndexes().toArray()).filter((index) => index.name !== '_id_' && index.clustered !== true);
    if (indexes.length > 0) {
      await to.command({
        createIndexes: info.name,
        indexes: indexes.map((index) => {
          const { v: _v, ns: _ns, ...spec } = index;
          return spec;
        }),
      });
    }
    const documents = await source.find({}).sort({ _id: 1 }).limit(sample).toArray();
    // The target's documents passed its validator when written, or were there before it.
    if (documents.length > 0) await to.collection(info.name).insertMany(documents, { ordered: false, bypassDocumentValidation: true });
    copied.push({ name: info.name, type: 'collection', documents: documents.length, total: await source.estimatedDocumentCount() });
  }
  for (const info of views.sort((a, b) => a.name.localeCompare(b.name))) {
    await to.createCollection(info.name, (info.options ?? {}) as Document);
    copied.push({ name: info.name, type: 'view', documents: 0, total: 0 });
  }
  return copied;
}
