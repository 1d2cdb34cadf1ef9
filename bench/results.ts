/**
 * The shape of bench/results.json: what ran, where, and each scenario's figures.
 */
import type { BurstResult } from './scenarios/burst.js';
import type { CloudFunctionsResult } from './scenarios/cloud-functions.js';
import type { CodecResult } from './scenarios/codec.js';
import type { ColdStartResult } from './scenarios/cold-start.js';
import type { ContentionResult } from './scenarios/contention.js';
import type { LambdaResult } from './scenarios/lambda.js';
import type { LambdaColdStartResult } from './scenarios/lambda-cold-start.js';
import type { MemoryResult } from './scenarios/memory.js';
import type { PicklePersistenceResult } from './scenarios/pickle-persistence.js';
import type { ScaleResult } from './scenarios/scale.js';
import type { SteadyStateResult } from './scenarios/steady-state.js';
import type { WorkersResult } from './scenarios/workers.js';
import type { WriteAmplificationResult } from './scenarios/write-amplification.js';
import type { TargetCheck } from './targets.js';

export interface Scenarios {
  coldStart?: ColdStartResult;
  codec?: CodecResult;
  steadyState?: SteadyStateResult;
  burst?: BurstResult;
  contention?: ContentionResult;
  writeAmplification?: WriteAmplificationResult;
  lambda?: LambdaResult;
  lambdaColdStart?: LambdaColdStartResult;
  memory?: MemoryResult;
  picklePersistence?: PicklePersistenceResult;
  scale?: ScaleResult;
  workers?: WorkersResult;
  cloudFunctions?: CloudFunctionsResult;
}

export type ScenarioName = keyof Scenarios;

export interface RunInfo {
  /** The command that produced these results. */
  command: string;
  /** The commit measured, with ` + uncommitted changes in src/` when the working tree differed. */
  revision?: string;
  startedAt: string;
  /** Seconds, per scenario and in all. */
  seconds: Partial<Record<ScenarioName, number>> & { total: number };
  machine: { cpu: string; cores: number; memoryGiB: number; os: string };
  /**
   * The machine's 1-minute load average at the start, when each scenario started, and at the end:
   * other work on the machine skews timings (the ratios less, as their sides run interleaved).
   */
  loadAverage?: { start: number; end: number; scenarios?: Partial<Record<ScenarioName, number>> };
  node: string;
  minio: string;
  /** The average JSON size of one user's data in the populations. */
  userBytes: number;
}

export interface BenchResults {
  run: RunInfo;
  scenarios: Scenarios;
  targets: TargetCheck[];
}
