/** Where a backup or restore stands, reported a few times a second (never per document). */
export interface BackupProgress {
  readonly phase: 'backup' | 'restore';
  readonly collection: string;
  /** Documents of this collection copied so far. */
  readonly documents: number;
  /** Expected documents of this collection (estimated count for a backup, the manifest's for a restore). */
  readonly totalDocuments: number | undefined;
  /** BSON bytes of this collection copied so far. */
  readonly bytes: number;
  /** True on the collection's last report. */
  readonly done: boolean;
}

const INTERVAL_MS = 200;

/** Counts documents and calls `report` at most every 200 ms, and once more when the collection is done. */
export function progressThrottle(
  report: ((progress: BackupProgress) => void) | undefined,
  fixed: { readonly phase: BackupProgress['phase']; readonly collection: string; readonly totalDocuments: number | undefined },
): { document(bytes: number): void; done(): void } {
  let documents = 0;
  let bytes = 0;
  let last = 0;
  const emit = (done: boolean) => report?.({ ...fixed, documents, bytes, done });
  return {
    document(size) {
      documents += 1;
      bytes += size;
      if (report === undefined || (documents & 0xff) !== 0) return;
      const now = Date.now();
      if (now - last < INTERVAL_MS) return;
      last = now;
      emit(false);
    },
    done: () => emit(true),
  };
}
