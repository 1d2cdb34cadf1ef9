// Webhook requests the sample bot must survive, sent to the bundled handler in a warm Lambda-like
// process (one process, many invocations) against MinIO and the fake Bot API. test/e2e/rejected-requests.test.ts covers wrong and missing secrets,
// non-JSON, arrays, a missing update_id, unknown kinds and oversized bodies; this adds the remaining
// malformed shapes, and the update kinds the bot has no handler for: those get 200 and change
// nothing but the processed-update marker, with no Bot API call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotFields } from '../../src/snapshot/codec.js';
import { messageUpdate, type Update } from '../support/fake-bot-api.js';
import { webhookEvent, type LambdaInstance } from '../support/lambda.js';
import { deploy, WEBHOOK_SECRET, type Deployment } from '../e2e/deployment.js';

const USER = 7001;

let bot: Deployment;
/** One process for every request below: what is tested is the answer and the state, not the cold start. */
let warm: LambdaInstance;
beforeAll(async () => {
  bot = await deploy();
  await bot.say(USER, '/count');
  await bot.say(USER, '/note keep me');
  warm = bot.warmInstance();
});
afterAll(async () => {
  await bot?.close(); // also fails the file if any process printed the token or the secret
});

/** The snapshot without what handling any update changes: the processed-update marker and the write ids. */
function withoutMarkers(snapshot: SnapshotFields | undefined): SnapshotFields {
  const fields = new Map(snapshot);
  fields.delete('processed_updates');
  fields.delete('$writes');
  return fields;
}

const user = { id: USER, is_bot: false, first_name: 'Tester' };
const chat = { id: USER, type: 'private', first_name: 'Tester' };
const now = () => Math.floor(Date.now() / 1000);

const IGNORED: Array<{ kind: string; update: (updateId: number) => Update | Record<string, unknown> }> = [
  {
    kind: 'a poll',
    update: (id) => ({ update_id: id, poll: { id: 'p1', question: 'Tea?', options: [{ text: 'yes', voter_count: 1 }], total_voter_count: 1, is_closed: false, is_anonymous: true, type: 'regular', allows_multiple_answers: false } }),
  },
  { kind: 'a poll answer', update: (id) => ({ update_id: id, poll_answer: { poll_id: 'p1', user, option_ids: [0] } }) },
  {
    kind: 'an edited /count (commands count in new messages only)',
    update: (id) => ({ update_id: id, edited_message: { message_id: 1, from: user, chat, date: now(), edit_date: now(), text: '/count', entities: [{ type: 'bot_command', offset: 0, length: 6 }] } }),
  },
  { kind: 'a sticker (a message without text)', update: (id) => ({ update_id: id, message: { message_id: id, from: user, chat, date: now(), sticker: { file_id: 'f', file_unique_id: 'u', type: 'regular', width: 512, height: 512, is_animated: false, is_video: false } } }) },
  {
    kind: 'a my_chat_member change',
    update: (id) => ({ update_id: id, my_chat_member: { chat, from: user, date: now(), old_chat_member: { status: 'member', user }, new_chat_member: { status: 'kicked', user, until_date: 0 } } }),
  },
  { kind: 'a message reaction', update: (id) => ({ update_id: id, message_reaction: { chat, message_id: 1, user, date: now(), old_reaction: [], new_reaction: [{ type: 'emoji', emoji: '👍' }] } }) },
];

describe('update kinds the sample bot has no handler for', () => {
  it.each(IGNORED.map((entry, index) => ({ ...entry, updateId: 900_000 + index })))(
    '$kind: 200, no Bot API call, the state unchanged but for the processed-update marker',
    async ({ update, updateId }) => {
      const before = await bot.snapshot();
      const calls = bot.api.calls.length;

      const { result } = await warm.invoke(webhookEvent(update(updateId), { secret: WEBHOOK_SECRET }));

      expect(result.statusCode).toBe(200);
      expect(bot.api.calls.length).toBe(calls);
      const after = await bot.snapshot();
      expect(withoutMarkers(after)).toEqual(withoutMarkers(before));
      expect((after?.get('processed_updates') as Map<number, number> | undefined)?.has(updateId)).toBe(true);
    },
  );
});

const MALFORMED: Array<{ request: string; event: () => unknown; status: number; error: RegExp }> = [
  { request: 'an empty body', event: () => webhookEvent('', { secret: WEBHOOK_SECRET }), status: 400, error: /empty/ },
  { request: 'a negative update_id', event: () => webhookEvent({ ...messageUpdate({ updateId: 1, userId: USER, text: '/count' }), update_id: -1 }, { secret: WEBHOOK_SECRET }), status: 400, error: /update_id/ },
  { request: 'update_id as a string', event: () => webhookEvent({ ...messageUpdate({ updateId: 1, userId: USER, text: '/count' }), update_id: '1' }, { secret: WEBHOOK_SECRET }), status: 400, error: /update_id/ },
  { request: 'a fractional update_id', event: () => webhookEvent({ ...messageUpdate({ updateId: 1, userId: USER, text: '/count' }), update_id: 1.5 }, { secret: WEBHOOK_SECRET }), status: 400, error: /update_id/ },
  {
    request: 'two kinds of content in one update',
    event: () => webhookEvent({ ...messageUpdate({ updateId: 2, userId: USER, text: '/count' }), edited_message: messageUpdate({ updateId: 2, userId: USER, text: '/count' }).message }, { secret: WEBHOOK_SECRET }),
    status: 400,
    error: /exactly one kind/,
  },
  { request: 'content that is not an object', event: () => webhookEvent({ update_id: 3, message: '/count' }, { secret: WEBHOOK_SECRET }), status: 400, error: /not an object/ },
  { request: 'a __proto__ kind', event: () => webhookEvent('{"update_id": 4, "__proto__": {"polluted": true}}', { secret: WEBHOOK_SECRET }), status: 400, error: /"__proto__" is not a kind/ },
  {
    request: 'a base64 body that is not JSON',
    event: () => ({ ...webhookEvent('x', { secret: WEBHOOK_SECRET }), body: Buffer.from('\u0000\u00ff not json').toString('base64'), isBase64Encoded: true }),
    status: 400,
    error: /not JSON/,
  },
  { request: 'JSON nested 100000 deep', event: () => webhookEvent('['.repeat(100_000) + ']'.repeat(100_000), { secret: WEBHOOK_SECRET }), status: 400, error: /not a JSON object|not JSON/ },
  { request: 'a GET', event: () => webhookEvent(messageUpdate({ updateId: 5, userId: USER, text: '/count' }), { secret: WEBHOOK_SECRET, method: 'GET' }), status: 405, error: /POST/ },
  { request: 'an event without headers', event: () => ({ ...webhookEvent(messageUpdate({ updateId: 6, userId: USER, text: '/count' })), headers: undefined }), status: 401, error: /secret/ },
];

describe('malformed webhook requests (beyond test/e2e/rejected-requests.test.ts)', () => {
  it.each(MALFORMED)('$request gets $status, leaves the snapshot byte for byte and calls no Bot API method', async ({ event, status, error }) => {
    const before = await bot.snapshotBytes();
    const calls = bot.api.calls.length;

    const { result } = await warm.invoke(event());

    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body)).toEqual({ ok: false, error: expect.stringMatching(error) });
    expect(await bot.snapshotBytes()).toEqual(before);
    expect(bot.api.calls.length).toBe(calls);
  });

  it('after all of them, the counter goes on from where it was', async () => {
    await warm.invoke(webhookEvent(messageUpdate({ updateId: 990_000, userId: USER, text: '/count' }), { secret: WEBHOOK_SECRET }));
    expect(bot.take('sendMessage').map((call) => String(call.payload.text)).at(-1)).toBe('2');
  });
});
