/**
 * parseCallbackData: PTB's persisted CallbackDataCache shape is parsed in one place; each way of
 * not being that shape is a CallbackDataShapeError (a PersistenceError, code SNAPSHOT_UNREADABLE)
 * naming the bad part.
 */
import { describe, expect, it } from 'vitest';
import { PersistenceError } from '../../src/errors.js';
import { CallbackDataShapeError, parseCallbackData } from '../../src/snapshot/callback-data.js';

const uuid = 'a'.repeat(32);

describe('parseCallbackData', () => {
  it('gives null for null and undefined: no callback data', () => {
    expect(parseCallbackData(null)).toBeNull();
    expect(parseCallbackData(undefined)).toBeNull();
  });

  it('gives back data in PTB\'s shape as it is, not a copy', () => {
    const data = [[[uuid, 1718000000.25, { b: { action: 'vote' } }]], { q1: uuid }];
    expect(parseCallbackData(data)).toBe(data);
    expect(parseCallbackData([[], {}])).toEqual([[], {}]);
  });

  it.each([
    ['a plain object', { keyboards: [] }, 'callback_data is an instance of Object, not a [keyboards, callbackQueries] pair'],
    ['a string', 'data', 'callback_data is a string, not a [keyboards, callbackQueries] pair'],
    ['an array of 3', [[], {}, {}], 'callback_data is an array of 3, not a [keyboards, callbackQueries] pair'],
    ['a Map', new Map(), 'callback_data is an instance of Map, not a [keyboards, callbackQueries] pair'],
    ['keyboards not an array', [{}, {}], 'callback_data[0] is an instance of Object, not an array'],
    ['a keyboard not a triple', [[[uuid, 1]], {}], 'callback_data[0][0] is an array of 2, not a [keyboardUuid, accessTime, buttons] triple'],
    ['a keyboard uuid not a string', [[[7, 1, {}]], {}], 'callback_data[0][0][0] (keyboard uuid) is a number'],
    ['an access time not a number', [[[uuid, '1', {}]], {}], 'callback_data[0][0][1] (access time) is a string, not a number of seconds'],
    ['an access time not finite', [[[uuid, Number.NaN, {}]], {}], 'callback_data[0][0][1] (access time) is a number, not a number of seconds'],
    ['buttons not a plain object', [[[uuid, 1, new Map()]], {}], 'callback_data[0][0][2] (buttons) is an instance of Map, not a plain object'],
    ['the second keyboard bad', [[[uuid, 1, {}], [uuid, 2, null]], {}], 'callback_data[0][1][2] (buttons) is null, not a plain object'],
    ['callback queries not a plain object', [[], []], 'callback_data[1] (callback queries) is an array of 0, not a plain object'],
    ['a callback query not mapped to a uuid', [[], { q: 1 }], 'callback_data[1]["q"] is a number, not a keyboard uuid'],
  ])('refuses %s with a CallbackDataShapeError naming the bad part', (_, data, reason) => {
    let thrown: unknown;
    try {
      parseCallbackData(data);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CallbackDataShapeError);
    expect(thrown).toBeInstanceOf(PersistenceError);
    const error = thrown as CallbackDataShapeError;
    expect(error.code).toBe('SNAPSHOT_UNREADABLE');
    expect(error.reason).toBe(reason);
    expect(error.message).toContain(`cannot load callback data: ${reason}; expected PTB's`);
  });
});
