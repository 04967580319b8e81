import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsconfig = JSON.parse(readFileSync(new URL('../tsconfig.base.json', import.meta.url), 'utf8')) as {
  compilerOptions: { paths: Record<string, string[]> };
};
/** The tsconfig path aliases, so tests import libs exactly as the apps do. */
const alias = Object.fromEntries(
  Object.entries(tsconfig.compilerOptions.paths).map(([name, [target]]) => [name, fileURLToPath(new URL(`../${target}`, import.meta.url))]),
);

const shared = {
  root,
  resolve: { alias },
  // SWC keeps NestJS's decorator metadata, which esbuild would drop.
  plugins: [
    swc.vite({
      tsconfigFile: false,
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        target: 'es2023',
      },
    }),
  ],
};

export default defineConfig({
  test: {
    projects: [
      {
        ...shared,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        ...shared,
        // The Helm chart and the container image: rendered, validated and read offline (helm is built once, hence the long hook).
        test: { name: 'deploy', include: ['test/deploy/**/*.test.ts'], environment: 'node', testTimeout: 60_000, hookTimeout: 600_000 },
      },
      {
        ...shared,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 120_000,
          // Tests share one stack (real Kafka, PostgreSQL and the three services) and isolate by user and room IDs.
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
    ],
  },
});
