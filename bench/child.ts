/**
 * The benchmark's fresh-process measurements: `node .build/bench/child.mjs '<task as JSON>'` runs
 * one task and prints its result as one JSON line. See lib/child-process.ts.
 */
import { measureCodecs, type CodecTask } from './scenarios/codec.js';
import { measureColdStart, type ColdStartTask } from './scenarios/cold-start.js';
import { measureScaleUpdates, type ScaleUpdateTask } from './scenarios/scale.js';
import { measureWrites, type WriteTask } from './scenarios/write-amplification.js';

type Task = ColdStartTask | CodecTask | WriteTask | ScaleUpdateTask;

async function run(task: Task): Promise<unknown> {
  switch (task.task) {
    case 'cold-start':
      return measureColdStart(task);
    case 'codec':
      return measureCodecs(task);
    case 'write':
      return measureWrites(task);
    case 'scale-update':
      return measureScaleUpdates(task);
    default:
      throw new Error(`unknown bench task ${JSON.stringify(task)}`);
  }
}

const result = await run(JSON.parse(process.argv[2] ?? '{}') as Task);
process.stdout.write(`${JSON.stringify(result)}\n`);
