// errors.ts promises that everything the library throws is a PersistenceError with a stable code
// (two exceptions are named there). This walks the public entry points with bad input and checks
// the class and the code of what comes out.
import { Bot } from 'grammy';
import { describe, expect, it } from 'vitest';
import {
  InvalidOptionsError,
  InvalidUseError,
  PersistenceError,
  PersistenceRuntime,
  PreconditionLostError,
  S3Persistence,
  SerializationError,
} from '../../src/index.js';
import { migrateLayout, MigrationError } from '../../src/migrate.js';
import { webhookHandler } from '../../src/webhook.js';
import { MemoryObjectStore } from '../../src/store/memory-store.js';
import { botInfo } from '../support/adapter-bots.js';

const store = () => new MemoryObjectStore('bucket');
const persistence = () => new S3Persistence({ filepath: 's3://bucket/bot', store: store() });

async function thrown(act: () => unknown): Promise<unknown> {
  try {
    await act();
  } catch (error) {
    return error;
  }
  throw new Error('nothing was thrown');
}

describe('what the public entry points throw for bad input', () => {
  it.each([
    ['S3Persistence without options', () => new S3Persistence(undefined as never), InvalidOptionsError, 'INVALID_OPTIONS'],
    ['an unknown layout', () => new S3Persistence({ filepath: 's3://bucket/bot', store: store(), layout: 'zip' as never }), InvalidOptionsError, 'INVALID_OPTIONS'],
    ['a user id that is not an integer', () => persistence().updateUserData(1.5, {}), SerializationError, 'UNSERIALIZABLE'],
    ['a value that cannot be stored', () => persistence().updateUserData(1, { f: () => 1 }), SerializationError, 'UNSERIALIZABLE'],
    ['a claim lease of 0', () => new PersistenceRuntime(persistence(), { claimUpdates: { leaseSeconds: 0 } }), InvalidOptionsError, 'INVALID_OPTIONS'],
    [
      'two conversations of one name',
      () => {
        const runtime = new PersistenceRuntime(persistence());
        runtime.registerConversation('survey');
        runtime.registerConversation('survey');
      },
      InvalidOptionsError,
      'INVALID_OPTIONS',
    ],
    ['user data of an update without a user', () => new PersistenceRuntime(persistence(), { logger: false }).run({ updateId: 1 }, (scope) => scope.userData), InvalidUseError, 'INVALID_USE'],
    [
      'a conversation that is not registered',
      () => new PersistenceRuntime(persistence(), { logger: false }).run({ updateId: 1, userId: 1, chatId: 1 }, (scope) => scope.conversation('nope').state),
      InvalidUseError,
      'INVALID_USE',
    ],
    ['a webhook for an unknown platform', () => webhookHandler(new Bot('1:x', { botInfo }), persistence(), { platform: 'nope' as never, secretToken: 's' }), InvalidOptionsError, 'INVALID_OPTIONS'],
    [
      'a migration onto itself',
      () => migrateLayout({ from: { filepath: 's3://bucket/bot', layout: 'single-file', store: store() }, to: { filepath: 's3://bucket/bot', layout: 'single-file', store: store() } }),
      MigrationError,
      'INVALID_OPTIONS',
    ],
  ] as const)('%s: %s', async (_name, act, kind, code) => {
    const error = await thrown(act);
    expect(error).toBeInstanceOf(kind);
    expect(error).toBeInstanceOf(PersistenceError);
    expect((error as PersistenceError).code).toBe(code);
  });

  it('a lost condition from a store is a PersistenceError too (PRECONDITION_LOST)', async () => {
    const memory = store();
    await memory.put('k', new Uint8Array([1]), { ifNoneMatch: '*' });
    const error = await thrown(() => memory.put('k', new Uint8Array([2]), { ifNoneMatch: '*' }));
    expect(error).toBeInstanceOf(PreconditionLostError);
    expect(error).toMatchObject({ code: 'PRECONDITION_LOST', key: 'k', status: 412 });
  });
});
