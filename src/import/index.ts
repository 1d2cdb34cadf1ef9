/** Importing python-telegram-bot's PicklePersistence files, and whole stored states. */
export { importPtbPersistence } from './import-ptb.js';
export type { ImportPtbOptions, ImportPtbResult } from './import-ptb.js';
export { PTB_SECTIONS, ptbDataToFields, readPtbPersistence, readPtbPickle } from './ptb-pickle.js';
export type { BotMarkerReading, BotMarkerReport, PtbPersistenceData, PtbSection, ReadPtbOptions } from './ptb-pickle.js';
export { AmbiguousLayoutError, PickleDecodeError, SnapshotChangedError, SnapshotExistsError } from './errors.js';
export { readableFields, readStoredState, stateFields, writeStoredState } from '../state/whole-state.js';
export type { LayoutName, StoredObject, StoredState, WriteStateOptions } from '../state/whole-state.js';
