/**
 * Runs `task` over `items`, at most `limit` at once. Every item is tried whatever fails before it
 * (a flush writes every object it can, and one failed object never keeps the others' changes
 * unwritten); once all have settled, the first failure is thrown, so no run that failed resolves.
 */
export async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await task(item).catch((error: unknown) => void failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}
