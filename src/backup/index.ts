// Backups before changes and restore (DESIGN.md section 4; README "Backups and restore").
export type { BackupListResult, BackupSummary } from './backup-store.js';
export { backupId, listBackups, pruneBackups, resolveBackup } from './backup-store.js';
export type { BackedUpCollection, BackupFile, BackupManifest, BackupReason, CollectionMetadata } from './manifest.js';
export { BACKUP_REASONS, MANIFEST_FILE, MANIFEST_FORMAT, readManifest } from './manifest.js';
export type { BackupProgress } from './progress.js';
export type { BackupResult, TakeBackupOptions } from './take-backup.js';
export { databaseSize, takeBackup } from './take-backup.js';
export type { RestoreBackupOptions, RestoredCollection, RestoreResult, VerifiedBackup } from './restore-backup.js';
export { restoreBackup, verifyBackup } from './restore-backup.js';
export { readBsonFile, writeBsonFile } from './bson-files.js';
export type { BackupRoot } from './backup-root.js';
export { prepareBackupRoot } from './backup-root.js';
