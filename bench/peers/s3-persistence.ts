/**
 * This library as a peer, in the three ways a bot drives it: immediate writes, `onFlush` with a
 * flush per update, and the `PersistenceRuntime` lifecycle the sample bot uses.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { PersistenceRuntime, S3Persistence, type LayoutName } from '../../src/index.js';
import { touchUser, type UserRecord } from '../lib/population.js';
import type { Peer } from './peer.js';

export type LibraryMode = 'immediate' | 'onFlush' | 'runtime';

export interface LibraryPeerOptions {
  client: S3Client;
  /** `s3://bucket/key` */
  filepath: string;
  mode: LibraryMode;
  layout?: LayoutName;
}

let nextUpdateId = 1;

export class LibraryPeer implements Peer {
  readonly name: string;
  readonly persistence: S3Persistence<Partial<UserRecord>>;
  private readonly options: LibraryPeerOptions;
  private readonly runtime: PersistenceRuntime<Partial<UserRecord>> | undefined;
  /** The bot's live user objects, as a handler holds them between updates. */
  private readonly live = new Map<number, Partial<UserRecord>>();

  constructor(options: LibraryPeerOptions) {
    this.options = options;
    const layout = options.layout ?? 'single-file';
    this.name = `s3-persistence (${layout}, ${options.mode === 'runtime' ? 'runtime, as the sample bot' : options.mode})`;
    this.persistence = new S3Persistence({ filepath: options.filepath, client: options.client, onFlush: options.mode !== 'immediate', layout });
    this.runtime = options.mode === 'runtime' ? new PersistenceRuntime(this.persistence, { callbackData: false, logger: false }) : undefined;
  }

  /**
   * What a cold start reads, as `PersistenceRuntime` does: everything in PTB's layouts; in the
   * sharded layout bot data only, the rest per update.
   */
  async load(): Promise<void> {
    if (this.runtime !== undefined) {
      await this.runtime.run({}, () => undefined);
      return;
    }
    if ((this.options.layout ?? 'single-file') === 'sharded') {
      await this.persistence.getBotData();
      return;
    }
    const [users] = await Promise.all([this.persistence.getUserData(), this.persistence.getChatData(), this.persistence.getBotData()]);
    for (const [id, data] of users) this.live.set(id, data);
  }

  /**
   * The requests one update should cost at most when no other instance writes: a conditional GET
   * per object it refreshes, a PUT per object it changes. The update changes one user; the runtime
   * also refreshes bot data and the (private) chat, and records the update id with bot data in
   * PTB's layouts, with the user in the sharded one.
   */
  expectedRequests(): { conditionalGets: number; puts: number } {
    const { mode, layout = 'single-file' } = this.options;
    if (mode !== 'runtime' || layout === 'single-file') return { conditionalGets: 1, puts: 1 };
    return { conditionalGets: 3, puts: layout === 'multi-file' ? 2 : 1 };
  }

  async update(userId: number): Promise<void> {
    if (this.runtime !== undefined) {
      await this.runtime.run({ updateId: nextUpdateId++, userId, chatId: userId }, (scope) => touchUser(scope.userData));
      return;
    }
    let data = this.live.get(userId);
    if (data === undefined) this.live.set(userId, (data = {}));
    await this.persistence.refreshUserData(userId, data);
    touchUser(data);
    await this.persistence.updateUserData(userId, data);
    if (this.options.mode === 'onFlush') await this.persistence.flush();
  }

  settle(): Promise<void> {
    return this.persistence.flush();
  }

  async storedCounts(userIds: readonly number[]): Promise<Map<number, number>> {
    const { filepath, client, layout } = this.options;
    const fresh = new S3Persistence<Partial<UserRecord>>({ filepath, client, layout });
    const counts = await Promise.all(
      userIds.map(async (id) => {
        const data: Partial<UserRecord> = {};
        await fresh.refreshUserData(id, data);
        return [id, data.count ?? 0] as const;
      }),
    );
    return new Map(counts);
  }
}
