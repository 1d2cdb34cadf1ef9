// The JSON form of export and import: every stored value comes back exactly, and JSON that is not
// an export is refused with the place it goes wrong.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXPORT_FORMAT, ExportFormatError, fromJson, stateFromJson, stateToJson, toJson } from '../../src/cli/state-json.js';
import type { SnapshotFields } from '../../src/snapshot/codec.js';
import { BOT_PLACEHOLDER, deepEqual } from '../../src/snapshot/values.js';

/** Through JSON text, as a file carries it. */
const roundTrip = (fields: SnapshotFields): SnapshotFields => stateFromJson(JSON.parse(JSON.stringify(stateToJson(fields))));
const valueRoundTrip = (value: unknown): unknown => fromJson(JSON.parse(JSON.stringify(toJson(value))), 'value');

function objectWith(entries: Array<[string, unknown]>): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

function formatError(json: unknown): ExportFormatError {
  try {
    stateFromJson(json);
  } catch (error) {
    if (error instanceof ExportFormatError) return error;
    throw error;
  }
  throw new Error('read without an error');
}

const envelope = (sections: Record<string, unknown>) => ({ $format: EXPORT_FORMAT, $version: 1, ...sections });

describe('the JSON export', () => {
  it('writes sections readably: ids and conversation names as keys', () => {
    const json = stateToJson(
      new Map<string, unknown>([
        ['user_data', new Map([[42, { name: 'Ada', seen: new Date('2024-05-01T12:00:00.123Z') }]])],
        ['chat_data', new Map([[-100, { note: 'hi' }]])],
        ['bot_data', { total: 10n }],
        ['callback_data', null],
        ['conversations', new Map([['survey', new Map([['[1,2]', 'ASK_AGE']])]])],
        ['processed_updates', new Map([[1001, 1718000000000]])],
      ]),
    );
    expect(json).toEqual({
      $format: 'telegram-s3-persistence-export',
      $version: 1,
      user_data: { '42': { name: 'Ada', seen: { $date: '2024-05-01T12:00:00.123Z' } } },
      chat_data: { '-100': { note: 'hi' } },
      bot_data: { total: { $bigint: '10' } },
      callback_data: null,
      conversations: { survey: { '[1,2]': 'ASK_AGE' } },
      processed_updates: { '1001': 1718000000000 },
    });
  });

  it('marks every value JSON cannot hold', () => {
    expect(toJson(new Map([[1, 'a']]))).toEqual({ $map: [[1, 'a']] });
    expect(toJson(new Set(['x']))).toEqual({ $set: ['x'] });
    expect(toJson(new Date(NaN))).toEqual({ $date: null });
    expect(toJson(-(2n ** 70n))).toEqual({ $bigint: '-1180591620717411303424' });
    expect(toJson(Uint8Array.from([0, 255]))).toEqual({ $bytes: 'AP8=' });
    expect([NaN, Infinity, -Infinity, -0].map(toJson)).toEqual(['NaN', 'Infinity', '-Infinity', '-0'].map(($number) => ({ $number })));
    expect(toJson(undefined)).toEqual({ $undefined: true });
    expect(toJson(BOT_PLACEHOLDER)).toEqual({ $bot: true });
    expect(toJson({ $date: 'mine' })).toEqual({ $object: { $date: 'mine' } });
    expect(toJson({ $date: 'mine', other: 1 })).toEqual({ $date: 'mine', other: 1 });
  });

  it('gives back sections whose ids or names would not survive as keys, in the general form', () => {
    const fields: SnapshotFields = new Map<string, unknown>([
      ['user_data', new Map([[2 ** 53, 'unsafe'], [0.5, 'half']])],
      ['conversations', new Map([['$lone', new Map([['[1]', 1]])]])],
    ]);
    const json = stateToJson(fields);
    expect(json.user_data).toEqual({ $map: [[2 ** 53, 'unsafe'], [0.5, 'half']] });
    expect(roundTrip(fields)).toStrictEqual(fields);
  });

  it('round-trips a state of every kind of value exactly', () => {
    const fields: SnapshotFields = new Map<string, unknown>([
      [
        'user_data',
        new Map<number, unknown>([
          [
            12345,
            objectWith([
              ['__proto__', { polluted: true }],
              ['dollar', { $map: 'not a marker' }],
              ['nested', [new Map<unknown, unknown>([[1, new Set([1n, 'x'])], [null, undefined]]), { a: [-0, NaN] }]],
              ['bytes', new Uint8Array([1, 2, 3])],
              ['when', new Date(Date.UTC(1, 0, 1))],
              ['far', new Date(8.64e15)],
              ['bot', BOT_PLACEHOLDER],
            ]),
          ],
          [Number.MIN_SAFE_INTEGER, {}],
        ]),
      ],
      ['bot_data', objectWith([['__proto__', 1]])],
      ['callback_data', [[['kb', 1.5, { button: { x: 1 } }]], { q: 'kb' }]],
      ['conversations', new Map([['__proto__', new Map([['["a",1]', { step: 2 }]])]])],
      ['future_section', { kept: true }],
    ]);
    const back = roundTrip(fields);
    expect(back).toStrictEqual(fields);
    expect(Object.getPrototypeOf((back.get('bot_data') as object))).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('round-trips any stored value (property)', () => {
    const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', '$map', '$x', '', 'constructor'));
    const { value } = fc.letrec<{ value: unknown; leaf: unknown }>((tie) => ({
      leaf: fc.oneof(
        fc.constant(null),
        fc.constant(undefined),
        fc.boolean(),
        fc.double(),
        fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }),
        fc.string({ maxLength: 8 }),
        fc.date({ noInvalidDate: false }),
        fc.uint8Array({ maxLength: 6 }),
        fc.constant(BOT_PLACEHOLDER),
      ),
      value: fc.oneof(
        { depthSize: 'small' },
        tie('leaf'),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map(objectWith),
        fc.array(fc.tuple(fc.oneof(fc.double(), fc.string({ maxLength: 4 }), fc.bigInt()), tie('value')), { maxLength: 4 }).map((entries) => new Map(entries)),
        fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), { maxLength: 4 }).map((items) => new Set(items)),
      ),
    }));
    fc.assert(
      fc.property(value, (stored) => {
        const back = valueRoundTrip(stored);
        expect(deepEqual(back, stored)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('reading an export back', () => {
  it('refuses JSON that is not an export', () => {
    expect(formatError({ user_data: {} }).message).toMatch(/at \$format: expected "telegram-s3-persistence-export"/);
    expect(formatError([]).path).toBe('$format');
  });

  it('refuses a newer or invalid version', () => {
    expect(formatError({ $format: EXPORT_FORMAT, $version: 2 }).message).toMatch(/newer than 1: upgrade/);
    expect(formatError({ $format: EXPORT_FORMAT, $version: '1' }).path).toBe('$version');
  });

  it.each([
    [{ user_data: { abc: {} } }, 'user_data["abc"]', /decimal integer/],
    [{ user_data: { '-0': {} } }, 'user_data["-0"]', /decimal integer/],
    [{ chat_data: { '9007199254740993': {} } }, 'chat_data["9007199254740993"]', /within/],
    [{ conversations: { survey: { '1,2': 'A' } } }, 'conversations["survey"][1,2]', /JSON array of numbers and strings/],
    [{ conversations: { survey: { '[1, 2]': 'A' } } }, 'conversations["survey"][[1, 2]]', /JSON array/],
    [{ conversations: { survey: 'A' } }, 'conversations["survey"]', /expected an object/],
    [{ bot_data: { when: { $date: 'yesterday' } } }, 'bot_data.when', /ISO 8601/],
    [{ bot_data: { n: { $bigint: '1.5' } } }, 'bot_data.n', /decimal integer as a string/],
    [{ bot_data: { b: { $bytes: 'not base64!' } } }, 'bot_data.b', /base64/],
    [{ bot_data: { x: { $number: 'one' } } }, 'bot_data.x', /"NaN", "Infinity"/],
    [{ bot_data: { m: { $map: [[1]] } } }, 'bot_data.m', /\[key, value\] pairs/],
    [{ bot_data: { u: { $unknown: 1 } } }, 'bot_data.u', /unknown marker "\$unknown".*\$object/],
    [{ bot_data: '\ud800' }, 'bot_data', /lone surrogate/],
    [{ user_data: { $map: [['x', {}]] } }, '$', /an id that is a string, not a number/],
    [{ $extra: 1 }, '$extra', /unknown envelope field/],
  ])('refuses %j at %s', (sections, path, message) => {
    const error = formatError(envelope(sections));
    expect(error.path).toBe(path);
    expect(error.message).toMatch(message);
    expect(error.code).toBe('SNAPSHOT_UNREADABLE');
  });

  it('accepts ISO dates with an offset and without milliseconds, as people write them', () => {
    const fields = stateFromJson(envelope({ bot_data: { a: { $date: '2024-05-01T14:00:00+02:00' } } }));
    expect(fields.get('bot_data')).toEqual({ a: new Date('2024-05-01T12:00:00.000Z') });
  });
});
