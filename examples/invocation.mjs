// One "invocation" of a cloud function, as a fresh process: cold start, load the state from the
// bucket, handle one update for one user, write, exit. Run by examples/demo.mjs.
import { S3Persistence } from '../dist/index.js';

const [userId, text] = [Number(process.argv[2]), process.argv[3] ?? ''];
const persistence = new S3Persistence({ filepath: process.env.PERSISTENCE_URL ?? 's3://telegram-bot/demo/state' });

const users = await persistence.getUserData();
const botData = await persistence.getBotData();
const user = users.get(userId) ?? { count: 0, notes: [] };
user.count = Number(user.count) + 1;
if (text !== '') user.notes = [...user.notes, text];
botData.updates = Number(botData.updates ?? 0) + 1;

await persistence.updateUserData(userId, user);
await persistence.updateBotData(botData);
console.log(
  `pid ${process.pid}  user ${userId}: count=${user.count} notes=${JSON.stringify(user.notes)}  ` +
    `all updates=${botData.updates}  (GETs ${persistence.metrics.gets}, PUTs ${persistence.metrics.puts})`,
);
