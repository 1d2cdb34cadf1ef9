/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and says where the time went: self time per function,
 * and inclusive time (the function and everything it called, each sample counted once however deep
 * the recursion) for the functions asked about.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  /** `name file:line`, e.g. `fromWire child.mjs:1234`. */
  function: string;
  ms: number;
}

export interface ProfileSummary {
  /** Sampled time in all, milliseconds. */
  totalMs: number;
  /** Functions by their own time, largest first. */
  self: FunctionTime[];
  /** Functions whose name matches one asked for, by inclusive time, largest first. */
  inclusive: FunctionTime[];
}

function keyOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || '(anonymous)'} ${url ? `${basename(url)}:${lineNumber + 1}` : ''}`.trim();
}

/**
 * @example
 * const summary = await summarizeProfile('CPU.20240101.cpuprofile', ['decodeSnapshot', 'fromWire', 'copyOut']);
 */
export async function summarizeProfile(file: string, functionNames: readonly string[], top = 25): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const wanted = new Set(functionNames);
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    totalUs += delta;
    const leaf = byId.get(id)!;
    self.set(keyOf(leaf), (self.get(keyOf(leaf)) ?? 0) + delta);
    const onStack = new Set<string>();
    for (let node: ProfileNode | undefined = leaf; node !== undefined; node = byId.get(parent.get(node.id) ?? -1)) {
      if (wanted.has(node.callFrame.functionName)) onStack.add(keyOf(node));
    }
    for (const key of onStack) inclusive.set(key, (inclusive.get(key) ?? 0) + delta);
  });
  const sorted = (times: Map<string, number>) =>
    [...times]
      .map(([name, us]) => ({ function: name, ms: Math.round(us / 100) / 10 }))
      .sort((a, b) => b.ms - a.ms);
  return { totalMs: Math.round(totalUs / 1000), self: sorted(self).slice(0, top), inclusive: sorted(inclusive) };
}
