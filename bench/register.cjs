/* global require, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- a require hook is CommonJS by nature */
/**
 * Lets `node -r ./bench/register.cjs bench/src/cli.ts` run the benchmarks straight from the
 * TypeScript sources, on a fresh clone and inside jest alike, without a build step: every .ts file
 * is compiled by swc (already a dev dependency, with jest's settings) as it is required. The
 * `@ledger/*` path aliases of tsconfig.base.json are resolved here too.
 */
const fs = require('node:fs');
const path = require('node:path');
const swc = require('@swc/core');

const root = path.resolve(__dirname, '..');
const options = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    baseUrl: root,
    paths: {
      '@ledger/contract': ['libs/contract/src/index.ts'],
      '@ledger/domain': ['libs/ledger/src/index.ts'],
      '@ledger/event-store': ['libs/event-store/src/index.ts'],
      '@ledger/platform': ['libs/platform/src/index.ts'],
      '@ledger/projections': ['projections/src/index.ts'],
    },
  },
  module: { type: 'commonjs', ignoreDynamic: true },
  sourceMaps: 'inline',
};

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { code } = swc.transformSync(source, { ...options, filename });
  module._compile(code, filename);
};
