/**
 * `telegram-s3-persistence`: python-telegram-bot's persistence contract, stored in S3.
 *
 * The exports come in groups, by who needs them. The other entry points: `/grammy` (the grammY
 * middleware), `/webhook` (a webhook handler for each platform), `/adapters` and `/telegraf` (session
 * storage for grammY and Telegraf), `/fetch-store` (an object store on `fetch`, without the AWS SDK).
 */

// ---------------------------------------------------------------------------------------------
// The contract and S3Persistence: what a bot author configures and calls.
// ---------------------------------------------------------------------------------------------
export { BasePersistence, conversationKey } from './contract.js';
export type { CallbackData, ContextTypes, ConversationKey, PersistenceInput, UpdateOwner, WriteOrigin } from './contract.js';
export { S3Persistence } from './s3-persistence.js';
export type { LoadProgress, S3PersistenceOptions } from './s3-persistence.js';
export { isLayoutName, LAYOUT_NAMES, parseFilepath } from './snapshot/layout.js';
export type { LayoutName, ObjectLocation } from './snapshot/layout.js';
export type { SectionName } from './snapshot/entries.js';
export type { ConflictHook, EntryConflict, MergeFunction, RetryPolicy } from './conflicts.js';
export { mergeCallbackData } from './callback-data-merge.js';
export type { PersistenceMetrics } from './engine/conditional-object.js';

// ---------------------------------------------------------------------------------------------
// Errors: every error the library throws is a PersistenceError with a code.
// ---------------------------------------------------------------------------------------------
export {
  AccessDeniedError,
  BucketNotFoundError,
  ConditionalWritesIgnoredError,
  InvalidOptionsError,
  InvalidUseError,
  KeyInTheWayError,
  LayoutCollisionError,
  PersistenceError,
  SerializationError,
  SnapshotDecodeError,
  SnapshotTooLargeError,
  StorageError,
  WriteConflictError,
  UpdateInProgressError,
} from './errors.js';
export type { PersistenceErrorCode } from './errors.js';
export { PreconditionLostError } from './store/object-store.js';

// ---------------------------------------------------------------------------------------------
// Stores: where the state goes. S3Persistence builds the S3 one itself; give it another with
// `store` (the fetch store is in `/fetch-store`).
// ---------------------------------------------------------------------------------------------
export type { ChunkedBody, ObjectStore, ReadOptions, ReadResult, WriteCondition } from './store/object-store.js';
export { clientFromEnvironment, endpointOf, S3ObjectStore } from './store/s3-store.js';
export type { S3ObjectStoreOptions } from './store/s3-store.js';
export { ConditionalWriteGuard } from './store/conditional-write-guard.js';
export type { ConditionalWriteGuardOptions } from './store/conditional-write-guard.js';
export { MemoryObjectStore } from './store/memory-store.js';

// ---------------------------------------------------------------------------------------------
// The runtime, for integrations with a framework other than grammY (whose middleware is in
// `/grammy`): one update at a time, with conversations, callback data, logs and metrics.
// ---------------------------------------------------------------------------------------------
export { PersistenceRuntime, UpdateScope } from './runtime/update-runtime.js';
export type { RunOutcome, RuntimeOptions, UpdateKeys } from './runtime/update-runtime.js';
export { END, checkConversation, runConversation } from './runtime/conversation.js';
export type {
  ConversationDefinition,
  ConversationEnd,
  ConversationStateAccess,
  ConversationStep,
  NextState,
} from './runtime/conversation.js';
export { CallbackDataCache } from './runtime/callback-data-cache.js';
export type { CallbackButton, CallbackDataCacheOptions, CallbackDataOutcome, InlineButton } from './runtime/callback-data-cache.js';
export { jsonLogger } from './runtime/logger.js';
export type { LineSink, LogRecord, Logger } from './runtime/logger.js';
export { emfDocument, emfLine, UPDATE_METRICS } from './runtime/update-metrics.js';
export type { EmfOptions, UpdateMetric, UpdateOutcome, UpdateRecord } from './runtime/update-metrics.js';
export type { LargeSnapshotOptions } from './runtime/update-log.js';

// ---------------------------------------------------------------------------------------------
// Moving state: from another layout, and from python-telegram-bot's own pickle files.
// ---------------------------------------------------------------------------------------------
export { migrateLayout, MigrationError } from './migrate.js';
export type { MigrationEndpoint, MigrationOptions, MigrationPhase, MigrationProgress, MigrationReport, StateCounts } from './migrate.js';
export { importPtbPersistence, readPtbPersistence, readPtbPickle, PickleDecodeError } from './import/index.js';
export { SnapshotExistsError, SnapshotChangedError } from './state/errors.js';
export type { BotMarkerReading, BotMarkerReport, ImportPtbOptions, ImportPtbResult, PtbPersistenceData, ReadPtbOptions } from './import/index.js';
