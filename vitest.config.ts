import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The package's own name, as the sample bot (handlers/) imports it, leads to the sources: the
// `paths` of tsconfig.json, which vite does not read.
const entryPoints: Record<string, string> = {
  'telegram-s3-persistence': 'src/index.ts',
  'telegram-s3-persistence/grammy': 'src/grammy.ts',
  'telegram-s3-persistence/adapters': 'src/adapters/index.ts',
  'telegram-s3-persistence/webhook': 'src/webhook.ts',
  'telegram-s3-persistence/telegraf': 'src/adapters/telegraf.ts',
  'telegram-s3-persistence/fetch-store': 'src/fetch-store.ts',
};
const resolve = {
  alias: Object.entries(entryPoints).map(([name, file]) => ({
    find: new RegExp(`^${name}$`),
    replacement: fileURLToPath(new URL(file, import.meta.url)),
  })),
};

// On the machine's Node 20 the AWS SDK rightly warns, once per process, that its 2027 releases need Node 22;
// it is noise in test output. test/e2e/lambda-runtimes.test.ts runs the handler without this, and shows the
// notice on Node 20 and its absence on Node 24 (Lambda's default runtime in serverless.yml).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  test: {
    projects: [
      { resolve, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // Deterministic simulation: 100,000 seeded schedules in ten chunks (SIM_SCHEDULES to change).
      { resolve, test: { name: 'simulation', include: ['test/sim/**/*.test.ts'], testTimeout: 600_000 } },
      {
        resolve,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          // The first run on a machine may build MinIO from source.
          hookTimeout: 600_000,
        },
      },
      {
        resolve,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // MinIO first; then the handler bundle, which needs nothing from MinIO.
          globalSetup: ['test/global-setup.ts', 'test/e2e/global-setup.ts'],
          // Every invocation is a new Node process (a cold start): tests run dozens of them.
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
      {
        resolve,
        test: {
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts'],
          // MinIO first; then the writer processes and the handler, bundled.
          globalSetup: ['test/global-setup.ts', 'test/reliability/global-setup.ts'],
          // Sized for about a minute on 2 cores; `npm run soak` runs the same tests longer.
          testTimeout: process.env.RELIABILITY_PROFILE === 'soak' ? 3_600_000 : 300_000,
          // Two files at once even on 2 cores: the fault and retry tests mostly wait (backoffs, timeouts).
          maxWorkers: 2,
          // After the other projects, not beside them: the crash and contention tests run many processes
          // (and a project with its own maxWorkers needs a group of its own).
          sequence: { groupOrder: 1 },
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
