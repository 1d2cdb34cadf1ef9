/**
 * PTB's persisted `CallbackDataCache` shape, parsed once: `[[keyboardUuid, accessTime, {buttonUuid:
 * value}], ...]` and `{callbackQueryId: keyboardUuid}`. The runtime's cache, the callback-data merge,
 * the PTB import and the snapshot's section check all read callback data through
 * {@link parseCallbackData}.
 */
import type { CallbackData } from '../contract.js';
import { PersistenceError } from '../errors.js';
import { isPlainObject } from './values.js';

const EXPECTED = "PTB's [[[keyboardUuid, accessTime, {buttonUuid: value}], ...], {callbackQueryId: keyboardUuid}]";

/**
 * Callback data that is not in PTB's shape. Code `SNAPSHOT_UNREADABLE`: what holds it was stored
 * or persisted, not given by the caller. `reason` names the bad part, e.g. `callback_data[0][3][1]`.
 */
export class CallbackDataShapeError extends PersistenceError {
  override readonly name = 'CallbackDataShapeError';
  constructor(readonly reason: string) {
    super('SNAPSHOT_UNREADABLE', `cannot load callback data: ${reason}; expected ${EXPECTED}`);
  }
}

/**
 * `data` as PTB's callback data, or `null` for none (`null`, `undefined`). The value itself is
 * returned, not a copy. Throws {@link CallbackDataShapeError} naming the first part that is not in
 * that shape.
 */
export function parseCallbackData(data: unknown): CallbackData | null {
  if (data === null || data === undefined) return null;
  if (!Array.isArray(data) || data.length !== 2) {
    throw new CallbackDataShapeError(`callback_data is ${describe(data)}, not a [keyboards, callbackQueries] pair`);
  }
  const [keyboards, queries]: unknown[] = data;
  if (!Array.isArray(keyboards)) throw new CallbackDataShapeError(`callback_data[0] is ${describe(keyboards)}, not an array`);
  keyboards.forEach((keyboard: unknown, i) => {
    const at = `callback_data[0][${i}]`;
    if (!Array.isArray(keyboard) || keyboard.length !== 3) {
      throw new CallbackDataShapeError(`${at} is ${describe(keyboard)}, not a [keyboardUuid, accessTime, buttons] triple`);
    }
    const [keyboardUuid, accessTime, buttons]: unknown[] = keyboard;
    if (typeof keyboardUuid !== 'string') throw new CallbackDataShapeError(`${at}[0] (keyboard uuid) is ${describe(keyboardUuid)}`);
    if (typeof accessTime !== 'number' || !Number.isFinite(accessTime)) {
      throw new CallbackDataShapeError(`${at}[1] (access time) is ${describe(accessTime)}, not a number of seconds`);
    }
    if (!isPlainObject(buttons)) throw new CallbackDataShapeError(`${at}[2] (buttons) is ${describe(buttons)}, not a plain object`);
  });
  if (!isPlainObject(queries)) {
    throw new CallbackDataShapeError(`callback_data[1] (callback queries) is ${describe(queries)}, not a plain object`);
  }
  for (const [callbackQueryId, keyboardUuid] of Object.entries(queries)) {
    if (typeof keyboardUuid !== 'string') {
      throw new CallbackDataShapeError(`callback_data[1]["${callbackQueryId}"] is ${describe(keyboardUuid)}, not a keyboard uuid`);
    }
  }
  // Every part checked above: the pair is PTB's shape.
  return data as CallbackData;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value !== 'object') return `a ${typeof value}`;
  const name = (value.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object with a custom prototype';
}
