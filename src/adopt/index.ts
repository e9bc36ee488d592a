export type { AdoptionHost, AdoptionTarget, ImportMigrateMongoOptions, ImportMigrateMongoResult, NextCommit } from './migrate-mongo.js';
export { importMigrateMongo } from './migrate-mongo.js';
export type { ImportPlan, PendingFile, PlannedRecord } from './import-plan.js';
export { planImport } from './import-plan.js';
export type { GeneratedConfig } from './delta-config-file.js';
export { GENERATED_CONFIG, generateDeltaConfig } from './delta-config-file.js';
export type { MigrateMongoConfig, MigrateMongoFile } from './migrate-mongo-project.js';
export { readMigrateMongoConfig } from './migrate-mongo-project.js';
