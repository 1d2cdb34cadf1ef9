// An update delivered to several instances at once: Telegram sends it again when the webhook has not
// answered in time, while the first delivery may still be running. The sample bot's handler, bundled,
// runs in warm Lambda-like processes against MinIO and the fake Bot API; each /count update reaches
// all of them at the same moment. However the deliveries overlap, the state must count each update
// once: the user's count and bot_data.totalCount equal the number of distinct updates.
import { afterEach, describe, expect, it } from 'vitest';
import { S3Persistence } from '../../src/index.js';
import { messageUpdate } from '../support/fake-bot-api.js';
import { webhookEvent } from '../support/lambda.js';
import { deploy, STATE_KEY, WEBHOOK_SECRET, type Deployment } from '../e2e/deployment.js';
import { s3Client } from './clients.js';
import { PROFILE, report } from './profile.js';

const USER = 8001;

let bot: Deployment | undefined;
afterEach(async () => {
  await bot?.close(); // also fails the test if any process printed the token or the secret
  bot = undefined;
});

describe('the sample bot with each update delivered to several instances at once', () => {
  const { updates: UPDATES, instances: INSTANCES } = PROFILE.redelivery;

  /**
   * Delivers each of UPDATES distinct /count updates to INSTANCES warm instances at once, then reads
   * the counts; `claims`: the sample bot's default update claims, or UPDATE_CLAIMS=off.
   */
  async function deliverToAll(layout: 'single-file' | 'multi-file' | 'sharded', claims: boolean): Promise<void> {
    bot = await deploy({ layout, env: { UPDATE_CLAIMS: claims ? undefined : 'off' } });
    const instances = Array.from({ length: INSTANCES }, () => bot!.warmInstance());
    await Promise.all(instances.map((instance) => instance.ready));
    const statuses: Record<number, number> = {};
    const deadline = Date.now() + PROFILE.deadlineMs;
    let sent = 0;
    for (let update = 1; update <= UPDATES && Date.now() < deadline; update++, sent++) {
      const event = webhookEvent(messageUpdate({ updateId: 70_000 + update, userId: USER, text: '/count' }), { secret: WEBHOOK_SECRET });
      const answers = await Promise.all(instances.map((instance) => instance.invoke(event)));
      for (const { result } of answers) statuses[result.statusCode] = (statuses[result.statusCode] ?? 0) + 1;
    }

    const client = s3Client();
    const reader = new S3Persistence<{ count?: number }, Record<string, unknown>, { totalCount?: number }>({
      filepath: `s3://${bot.bucket}/${STATE_KEY}`,
      client,
      layout,
    });
    const userCount = (await reader.getUserData()).get(USER)?.count ?? 0;
    const totalCount = (await reader.getBotData()).totalCount ?? 0;
    client.destroy();
    const replies = bot.take('sendMessage').length;
    const figures = {
      layout,
      claims,
      distinctUpdates: sent,
      deliveries: sent * INSTANCES,
      statuses,
      userCount,
      totalCount,
      userCountOff: userCount - sent,
      totalCountOff: totalCount - sent,
      replies,
    };
    report(`redelivery to ${INSTANCES} instances at once, ${layout}`, figures);

    if (PROFILE.deadlineMs === Infinity) expect(sent).toBe(UPDATES);
    expect({ userCount, totalCount }).toEqual({ userCount: sent, totalCount: sent });
    if (claims) {
      // One delivery of each update ran it (one reply); the others met its claim (503: Telegram
      // delivers again, and finds it handled) or came after it (200, handled already).
      expect(replies).toBe(sent);
      expect(Object.keys(statuses).map(Number).sort()).toEqual(expect.arrayContaining([200]));
      expect((statuses[200] ?? 0) + (statuses[503] ?? 0)).toBe(sent * INSTANCES);
    } else {
      expect(statuses).toEqual({ 200: sent * INSTANCES });
    }
  }

  const title = `${UPDATES} distinct /count updates, each to ${INSTANCES} warm instances at once: the user's count and bot_data.totalCount are ${UPDATES}`;

  // A regression test of issue 11 (defect 2: a delivery that lost its write condition rebased the
  // update's changes on state that already held them). Before its fix bot_data.totalCount ended at
  // 59, 60 and 59 instead of 20 (single-file, multi-file, sharded).
  it.for(['single-file', 'multi-file', 'sharded'] as const)(`%s, without claims: ${title}`, (layout) => deliverToAll(layout, false));
  it.for(['single-file', 'multi-file', 'sharded'] as const)(`%s, with claims (the sample bot's default): ${title}, and one reply per update`, (layout) =>
    deliverToAll(layout, true),
  );
});
