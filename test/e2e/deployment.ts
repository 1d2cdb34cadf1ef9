// One deployment of the sample bot for one test: its own bucket on the test MinIO, its own fake Bot
// API, the environment the Lambda function would have, and every invocation in a fresh process.
// Everything the processes print is kept, so a test can check that no secret was ever printed.
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { decodeSnapshot, type SnapshotFields } from '../../src/snapshot/codec.js';
import {
  callbackQueryUpdate,
  messageUpdate,
  startFakeBotApi,
  type FakeBotApi,
  type InlineKeyboardMarkup,
  type RecordedCall,
  type Update,
} from '../support/fake-bot-api.js';
import { invokeInFreshProcess, startInstance, webhookEvent, type FreshInvocation, type LambdaInstance } from '../support/lambda.js';
import { freshBucket, minioClient } from '../support/minio.js';

/** A token as BotFather issues them; the part after the colon is what must never leak. */
export const BOT_TOKEN = '7123456789:AAE2e-SecretTokenPart_do-not-print';
export const WEBHOOK_SECRET = 'e2e-webhook-secret_0123456789abcdef';
/** The snapshot's key in the bucket. */
export const STATE_KEY = 'bot/state';

export interface DeploymentOptions {
  /** Give the function `BOT_INFO` (default true); without it, it calls getMe once and caches the answer. */
  botInfo?: boolean;
  /** Point the function at another Bot API, e.g. one that is not listening. */
  apiRoot?: string;
  /** Point the function at another S3 endpoint, e.g. a recording proxy in front of MinIO. */
  s3Endpoint?: string;
  /** `PERSISTENCE_LAYOUT` of the function; unset by default (single-file). */
  layout?: 'single-file' | 'multi-file' | 'sharded';
  /** The function's S3 client (`S3_CLIENT`) and the bundle built for it; default fetch, as deployed. */
  s3Client?: 'fetch' | 'sdk';
  /** The Node executable of the function's processes (e.g. Node 24 from infra/runtimes.mjs); default the machine's. */
  node?: string;
  /** Changes to the function's environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
}

export interface Deployment {
  readonly api: FakeBotApi;
  readonly bucket: string;
  /** The function's environment. */
  readonly env: Record<string, string>;
  /** Every stdout and stderr of every process this deployment ran; `close()` checks them for secrets. */
  readonly outputs: string[];
  /** Invokes the function with `event` in a fresh process. */
  invoke(event: unknown): Promise<FreshInvocation>;
  /** Posts `update` as Telegram would (right secret) to a fresh process. */
  send(update: Update): Promise<FreshInvocation>;
  /** A user's text message as a fresh-process invocation; update ids are numbered by the deployment. */
  say(userId: number, text: string, chatId?: number): Promise<FreshInvocation>;
  /** A press on the button carrying `data` of bot message `messageId`, in a fresh process. */
  press(userId: number, data: string, messageId: number): Promise<FreshInvocation>;
  /** A process kept for several invocations, like a warm Lambda container; closed by `close()`. */
  warmInstance(): LambdaInstance;
  /** The bot's new calls to `method` since the last `take`, e.g. its replies. */
  take(method: string): RecordedCall[];
  /** The stored snapshot, decoded; undefined while none is stored. */
  snapshot(): Promise<SnapshotFields | undefined>;
  /** The stored snapshot's bytes; undefined while none is stored. */
  snapshotBytes(): Promise<Uint8Array | undefined>;
  /** The keys of every object in the deployment's bucket. */
  objectKeys(): Promise<string[]>;
  /** Stops what the deployment started; throws if any process printed the token or the webhook secret. */
  close(): Promise<void>;
}

/** The secret part of the token: printing it without the bot id leaks as much as the whole token. */
const TOKEN_SECRET = BOT_TOKEN.split(':')[1]!;

/** The outputs that contain the bot token or the webhook secret. */
export function leaks(outputs: readonly string[]): string[] {
  return outputs.filter((output) => output.includes(TOKEN_SECRET) || output.includes(WEBHOOK_SECRET));
}

let nextUpdateId = 1000;

/**
 * Deploys the sample bot for one test.
 *
 * @example
 * const bot = await deploy();
 * await bot.say(42, '/count');
 * expect(bot.take('sendMessage').map(text)).toEqual(['1']);
 * await bot.close();
 */
export async function deploy(options: DeploymentOptions = {}): Promise<Deployment> {
  const minio = inject('minio');
  const s3Client = options.s3Client ?? 'fetch';
  const bundle = inject(s3Client === 'sdk' ? 'handlerBundleSdk' : 'handlerBundle');
  const api = await startFakeBotApi({ token: BOT_TOKEN });
  const bucket = await freshBucket('e2e');
  const client: S3Client = minioClient();
  const env: Record<string, string> = {
    BOT_TOKEN,
    WEBHOOK_SECRET,
    PERSISTENCE_URL: `s3://${bucket}/${STATE_KEY}`,
    S3_ENDPOINT: options.s3Endpoint ?? minio.endpoint,
    AWS_ACCESS_KEY_ID: minio.accessKeyId,
    AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
    AWS_REGION: minio.region,
    TELEGRAM_API_ROOT: options.apiRoot ?? api.apiRoot,
    S3_CLIENT: s3Client,
    // On the machine's Node 20 the SDK rightly warns that its 2027 releases need Node 22: these tests
    // do not look at it. lambda-runtimes.test.ts shows it there, and its absence on Node 24.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  if (options.botInfo ?? true) env.BOT_INFO = JSON.stringify(api.botInfo);
  if (options.layout !== undefined) env.PERSISTENCE_LAYOUT = options.layout;
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const processOptions = options.node === undefined ? {} : { node: options.node };
  const outputs: string[] = [];
  const taken = new Map<string, number>();
  const warm: LambdaInstance[] = [];

  const invoke = async (event: unknown) => {
    try {
      const invocation = await invokeInFreshProcess(bundle, event, env, processOptions);
      outputs.push(invocation.stdout, invocation.stderr);
      return invocation;
    } catch (error) {
      outputs.push(String(error)); // the message carries the process's output
      throw error;
    }
  };
  const send = (update: Update) => invoke(webhookEvent(update, { secret: WEBHOOK_SECRET }));
  const readBytes = async () => {
    try {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: STATE_KEY }));
      return await object.Body!.transformToByteArray();
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  };

  return {
    api,
    bucket,
    env,
    outputs,
    invoke,
    send,
    say: (userId, text, chatId) => send(messageUpdate({ updateId: nextUpdateId++, userId, chatId, text })),
    press: (userId, data, messageId) => send(callbackQueryUpdate({ updateId: nextUpdateId++, userId, data, messageId })),
    warmInstance() {
      const instance = startInstance(bundle, env, processOptions);
      warm.push(instance);
      return instance;
    },
    take(method) {
      const calls = api.callsTo(method);
      const seen = taken.get(method) ?? 0;
      taken.set(method, calls.length);
      return calls.slice(seen);
    },
    async snapshot() {
      const bytes = await readBytes();
      return bytes === undefined ? undefined : decodeSnapshot(bytes);
    },
    snapshotBytes: readBytes,
    async objectKeys() {
      const listing = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (listing.Contents ?? []).map((object) => object.Key!);
    },
    async close() {
      for (const instance of warm) {
        const { stdout, stderr } = await instance.close();
        outputs.push(stdout, stderr);
      }
      client.destroy();
      await api.close();
      const leaked = leaks(outputs);
      if (leaked.length > 0) throw new Error(`a process printed the bot token or the webhook secret:\n${leaked.join('\n---\n')}`);
    },
  };
}

/** The text of a sendMessage or editMessageText call. */
export function text(call: RecordedCall): string {
  return String(call.payload.text);
}

/** The inline keyboard a sendMessage call carried. */
export function keyboardOf(call: RecordedCall): InlineKeyboardMarkup {
  const markup = call.payload.reply_markup;
  return (typeof markup === 'string' ? JSON.parse(markup) : markup) as InlineKeyboardMarkup;
}

/** The `user_data` section of a snapshot. */
export function userData(snapshot: SnapshotFields | undefined): Map<number, Record<string, unknown>> {
  return (snapshot?.get('user_data') as Map<number, Record<string, unknown>> | undefined) ?? new Map();
}

/** The state of conversation `name` for `key` in a snapshot; undefined outside the conversation. */
export function conversationState(snapshot: SnapshotFields | undefined, name: string, key: readonly (number | string)[]): unknown {
  const conversations = snapshot?.get('conversations') as Map<string, Map<string, unknown>> | undefined;
  return conversations?.get(name)?.get(JSON.stringify(key));
}
