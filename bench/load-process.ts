/**
 * A bot's process start as far as its data, on this library: `node .build/bench/load-process.mjs
 * '<task as JSON>'` imports the library (nothing else of the benchmark), constructs the persistence
 * from the environment as a bot does (`S3_ENDPOINT`, `AWS_ACCESS_KEY_ID`, ...), makes every `get*`
 * at once (PTB's start-up), prints `loaded` with its own timings and exits. The PicklePersistence comparison times it from spawn
 * to that line, against `python3 peers/pickle_persistence.py --cold` (scenarios/pickle-persistence.ts).
 */
import { S3Persistence } from '../src/index.js';
import { fetchStoreFromEnvironment } from '../src/fetch-store.js';

/** What to load: `s3://bucket/key`, its layout, and which store (the AWS SDK's, the default, or the fetch store). */
export interface LoadProcessTask {
  filepath: string;
  bucket: string;
  layout: 'single-file' | 'multi-file';
  store: 'sdk' | 'fetch';
}

// Static imports are evaluated before this line: the process's start and the library's import are behind it.
const imported = performance.now();
const task = JSON.parse(process.argv[2] ?? '{}') as LoadProcessTask;
const persistence = new S3Persistence({
  filepath: task.filepath,
  layout: task.layout,
  ...(task.store === 'fetch' ? { store: fetchStoreFromEnvironment(task.bucket, process.env) } : {}),
});
await Promise.all([persistence.getUserData(), persistence.getChatData(), persistence.getBotData(), persistence.getConversations('survey')]);
// Milliseconds since the process started (performance's time origin): to the end of the imports, and to the data in hand.
process.stdout.write(`loaded ${JSON.stringify({ importedMs: imported, loadedMs: performance.now() })}\n`);
// Open sockets (the SDK's keep-alive agent) would keep the process up: the timing ends at `loaded`, the process here.
process.exit(0);
