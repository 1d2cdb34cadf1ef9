/**
 * The tracked objects of one persistence: which object holds an entry, which objects hold a kind,
 * and where handled updates are kept, all as the layout answers. `S3Persistence` asks this for
 * objects and never asks which layout it has.
 */
import { refuseSnapshotBeside } from '../layout-collision.js';
import { eachLimited } from '../limit.js';
import type { EntryRef } from '../snapshot/entries.js';
import type { Layout, ShardedKind } from '../snapshot/layout.js';
import type { TrackedObject } from '../snapshot/tracked-object.js';
import type { ObjectStore } from '../store/object-store.js';

/** Progress of loading every entry of one kind in the sharded layout. */
export interface LoadProgress {
  kind: ShardedKind;
  loaded: number;
  total: number;
}

export interface LayoutObjectsOptions {
  layout: Layout;
  path: string;
  store: ObjectStore;
  /** Objects loaded at once when a kind is spread over many. */
  concurrency: number;
  newObject(key: string): TrackedObject;
  /** The largest snapshot read whole (`maxSnapshotBytes`), for the look at a single-file snapshot at the path. */
  maxSnapshotBytes?: number | undefined;
  onProgress?: ((progress: LoadProgress) => void) | undefined;
}

/** The entry that stands for a whole kind, for the layouts that keep a kind in one object. */
function kindRef(kind: ShardedKind, conversationName = ''): EntryRef {
  return kind === 'conversations' ? { section: 'conversations', name: conversationName, key: '' } : { section: kind, id: 0 };
}

function conversationNamesIn(object: TrackedObject): Iterable<string> {
  return object.view('conversations').get('conversations')?.keys() ?? [];
}

export class LayoutObjects {
  private readonly objects = new Map<string, TrackedObject>();
  /** The prefixes the caller listed (read whole): an entry created later under one was seen absent. */
  private readonly listedPrefixes = new Set<string>();

  constructor(private readonly options: LayoutObjectsOptions) {}

  /** Every object used so far. */
  all(): TrackedObject[] {
    return [...this.objects.values()];
  }

  /** The object that holds `ref`, created on first use. */
  objectFor(ref: EntryRef): TrackedObject {
    const { layout, path } = this.options;
    const key = layout.keyOf(path, ref);
    let object = this.objects.get(key);
    if (object === undefined) {
      this.objects.set(key, (object = this.options.newObject(key)));
      // Not in the listing the caller read: whatever another writer stored since is a conflict, not a base.
      const prefix = layout.listingOfEntry(path, ref);
      if (prefix !== undefined && this.listedPrefixes.has(prefix)) object.sawNothing(ref);
    }
    return object;
  }

  /** The object that holds `ref`, loaded (`whole`: every entry decoded with it, see `TrackedObject.load`). */
  async loaded(ref: EntryRef, whole = false): Promise<TrackedObject> {
    const object = this.objectFor(ref);
    await object.load(whole);
    return object;
  }

  /** The object that keeps the "handled" marks of an update of `owner`. */
  processedObject(owner: { userId?: number; chatId?: number }): TrackedObject {
    return this.objectFor(this.options.layout.processedRef(owner));
  }

  /**
   * Every object holding `kind` (of one conversation): the objects a listing finds, loaded, or the
   * one object holding the whole kind, loaded unless `'unloaded'` and with every entry decoded on
   * its first load for `'every-entry'` (a `get*` of user or chat data reads them all; in the
   * single-file layout that object also holds every other kind, which other reads leave encoded).
   */
  async holding(kind: ShardedKind, conversationName?: string, read: 'every-entry' | 'loaded' | 'unloaded' = 'loaded'): Promise<TrackedObject[]> {
    const prefix = this.options.layout.listingOf(this.options.path, kind, conversationName);
    if (prefix !== undefined) return this.loadListed(prefix, kind, conversationName);
    const ref = kindRef(kind, conversationName);
    return [read === 'unloaded' ? this.objectFor(ref) : await this.loaded(ref, read === 'every-entry')];
  }

  /** The names of the conversations stored (listed from the bucket where the layout lists them). */
  async conversationNames(): Promise<string[]> {
    const { layout, path, store } = this.options;
    const names = new Set<string>();
    const prefix = layout.listingOf(path, 'conversations');
    if (prefix === undefined) await this.loaded(kindRef('conversations'));
    else {
      for await (const key of store.list(prefix)) {
        const ref = layout.entryOfKey(path, key);
        if (ref?.section === 'conversations') names.add(ref.name);
      }
    }
    for (const object of this.objects.values()) for (const name of conversationNamesIn(object)) names.add(name);
    return [...names].sort();
  }

  /** Every object under `prefix`, listed and loaded with bounded concurrency. */
  private async loadListed(prefix: string, kind: ShardedKind, conversationName?: string): Promise<TrackedObject[]> {
    const { layout, path, store, concurrency, onProgress, newObject, maxSnapshotBytes } = this.options;
    const keys = new Set<string>();
    for await (const key of store.list(prefix)) if (layout.entryOfKey(path, key) !== undefined) keys.add(key);
    // Nothing listed: a single-file snapshot at this path may hold what this layout cannot see.
    if (keys.size === 0) await refuseSnapshotBeside(store, path, kind, conversationName, maxSnapshotBytes);
    this.listedPrefixes.add(prefix);
    for (const key of this.objects.keys()) if (key.startsWith(prefix)) keys.add(key); // written here, maybe not yet stored
    const objects = [...keys].map((key) => {
      let object = this.objects.get(key);
      if (object === undefined) this.objects.set(key, (object = newObject(key)));
      return object;
    });
    let loaded = 0;
    onProgress?.({ kind, loaded, total: objects.length });
    await eachLimited(objects, concurrency, async (object) => {
      await object.load(true);
      onProgress?.({ kind, loaded: ++loaded, total: objects.length });
    });
    return objects;
  }
}
