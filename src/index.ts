export { BasePersistence, conversationKey } from './contract.js';
export type { CallbackData, ContextTypes, ConversationKey, PersistenceInput, UpdateOwner, WriteOrigin } from './contract.js';
export { S3Persistence } from './s3-persistence.js';
export type { LoadProgress, S3PersistenceOptions } from './s3-persistence.js';
export type { LayoutName } from './snapshot/layout.js';
export type { ConflictHook, EntryConflict, MergeFunction, RetryPolicy } from './conflicts.js';
export { mergeCallbackData } from './callback-data-merge.js';
export type { PersistenceMetrics } from './engine/conditional-object.js';
export type { SectionName } from './snapshot/entries.js';
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
export type { ObjectStore, ReadResult, WriteCondition } from './store/object-store.js';
export { clientFromEnvironment, endpointOf, S3ObjectStore } from './store/s3-store.js';
export { ConditionalWriteGuard } from './store/conditional-write-guard.js';
export type { ConditionalWriteGuardOptions } from './store/conditional-write-guard.js';
export { MemoryObjectStore } from './store/memory-store.js';
export { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT, SNAPSHOT_VERSION } from './snapshot/codec.js';
export { PersistenceRuntime, UpdateScope } from './runtime/update-runtime.js';
export type { RunOutcome, RuntimeOptions, UpdateKeys } from './runtime/update-runtime.js';
export { jsonLogger } from './runtime/logger.js';
export type { LineSink, LogRecord, Logger } from './runtime/logger.js';
export { emfDocument, emfLine, UPDATE_METRICS } from './runtime/update-metrics.js';
export type { EmfOptions, UpdateMetric, UpdateOutcome, UpdateRecord } from './runtime/update-metrics.js';
export type { LargeSnapshotOptions } from './runtime/update-log.js';
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
export { migrateLayout, MigrationError } from './migrate.js';
export type { MigrationEndpoint, MigrationOptions, MigrationPhase, MigrationProgress, MigrationReport, StateCounts } from './migrate.js';
export {
  importPtbPersistence,
  readPtbPersistence,
  readPtbPickle,
  PickleDecodeError,
  SnapshotExistsError,
  SnapshotChangedError,
} from './import/index.js';
export type { BotMarkerReading, BotMarkerReport, ImportPtbOptions, ImportPtbResult, PtbPersistenceData, ReadPtbOptions } from './import/index.js';
