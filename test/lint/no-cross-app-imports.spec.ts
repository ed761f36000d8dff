/**
 * The rule that keeps apps from importing each other (eslint.rules.cjs), as eslint.config.mjs
 * registers it: it must refuse an app reaching into another and allow libraries, the app's own
 * files and the shared test harness. `npm run lint` runs it on the whole tree.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';

const root = path.resolve(__dirname, '../..');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the rule is CommonJS, for this very test
const rule = require(path.join(root, 'eslint.rules.cjs'));
const linter = new Linter({ configType: 'flat', cwd: root });
const config = [
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { ledger: { rules: { 'no-cross-app-imports': rule } } },
    rules: { 'ledger/no-cross-app-imports': 'error' as const },
  },
];

const problemsOf = (file: string, code: string): string[] =>
  linter.verify(code, config, path.join(root, file)).map((message) => message.message);

describe('apps never import each other', () => {
  it('is the rule the lint configuration uses, as an error', () => {
    const source = readFileSync(path.join(root, 'eslint.config.mjs'), 'utf8');
    expect(source).toContain("import noCrossAppImports from './eslint.rules.cjs'");
    expect(source).toContain("'ledger/no-cross-app-imports': 'error'");
  });

  it.each([
    ['apps/api/src/x.ts', "import { a } from '../../cli/src/audit/io';"],
    ['apps/cli/src/audit/x.ts', "export { b } from '../../../projector/src/projector';"],
    ['apps/web/test/x.spec.ts', "import type { C } from '../../api/src/bootstrap';"],
    ['apps/launcher/src/x.ts', "export const d = import('../../projector/src/main');"],
  ])('refuses %s reaching another app', (file, code) => {
    expect(problemsOf(file, code)).toEqual([expect.stringMatching(/imports apps\/\w+: move what they share/)]);
  });

  it.each([
    ['apps/api/src/x.ts', "import { a } from './commands/receipt';"],
    ['apps/api/test/x.spec.ts', "import { b } from '../../../test/support/ledger-api';"],
    ['apps/cli/src/x.ts', "import { c } from '@ledger/client';"],
    ['test/support/x.ts', "import { d } from '../../apps/api/src/bootstrap';"],
  ])('allows %s its own files, libraries and the shared test harness', (file, code) => {
    expect(problemsOf(file, code)).toEqual([]);
  });
});
