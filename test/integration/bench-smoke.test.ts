// A smoke run of the benchmark (bench/): one small scenario on the test MinIO, through the same
// code `npm run bench` runs, then its report. The full benchmark is not part of CI.
import { describe, expect, inject, it } from 'vitest';
import { BenchContext } from '../../bench/lib/context.js';
import { renderChart } from '../../bench/report/chart.js';
import { renderMarkdown } from '../../bench/report/markdown.js';
import type { BenchResults } from '../../bench/results.js';
import { burst } from '../../bench/scenarios/burst.js';
import { checkTargets } from '../../bench/targets.js';

describe('the benchmark, smoke run', () => {
  it('measures a burst: the library stores 20 concurrent updates in a few PUTs where the naive peer makes one each, and reports it', async () => {
    const context = await BenchContext.open(inject('minio'), 'bench-smoke');
    let results: BenchResults;
    try {
      const result = await burst(context, { users: 200, concurrent: 20, rounds: 2, peers: [{ kind: 'immediate' }, { kind: 'naive' }] });
      results = {
        run: {
          command: 'vitest (smoke)',
          startedAt: new Date().toISOString(),
          seconds: { total: 0 },
          machine: { cpu: 'test', cores: 1, memoryGiB: 1, os: 'test' },
          node: process.version,
          minio: 'test',
          userBytes: 200,
        },
        scenarios: { burst: result },
        targets: [],
      };
    } finally {
      context.close();
    }

    const [library, naive] = results.scenarios.burst!.peers;
    expect(library!.putsPerUpdate).toBeLessThanOrEqual(0.2);
    expect(naive!.putsPerUpdate).toBe(1);
    expect(checkTargets(results)).toEqual([expect.objectContaining({ target: 'Burst', holds: true })]);
    results.targets = checkTargets(results);
    expect(renderMarkdown(results)).toContain('## Burst (20 concurrent updates');
    expect(renderChart(results)).toMatch(/^<svg [^>]*>[\s\S]*Burst: PUTs per update[\s\S]*<\/svg>\n$/);
  });
});
