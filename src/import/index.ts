/** Importing python-telegram-bot's PicklePersistence files. */
export { importPtbPersistence } from './import-ptb.js';
export type { ImportPtbOptions, ImportPtbResult } from './import-ptb.js';
export { PTB_SECTIONS, ptbDataToFields, readPtbPersistence, readPtbPickle } from './ptb-pickle.js';
export type { BotMarkerReading, BotMarkerReport, PtbPersistenceData, PtbSection, ReadPtbOptions } from './ptb-pickle.js';
export { PickleDecodeError } from './errors.js';
