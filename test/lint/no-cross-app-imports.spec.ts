/**
 * The rule that keeps apps from importing each other (eslint.config.mjs), run by the real eslint
 * on the real configuration, as `npm run lint` runs it: it must refuse an app reaching into another
 * and allow libraries, the app's own files and the shared test harness.
 */
import { defined } from '../support/defined';
import { execFile } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

/** The messages of the rule for `code` as if it were the file at `file`. */
function problemsOf(file: string, code: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const eslint = execFile(
      process.execPath,
      [path.join(root, 'node_modules/eslint/bin/eslint.js'), '--format', 'json', '--stdin', '--stdin-filename', file],
      { cwd: root },
      (error, stdout) => {
        // eslint exits 1 when it found problems: the JSON on stdout is the answer either way.
        if (error && error.code !== 1) return reject(error);
        const [result] = JSON.parse(stdout) as Array<{ messages: Array<{ ruleId: string | null; message: string }> }>;
        resolve(
          defined(result?.messages.filter((m) => m.ruleId === 'ledger/no-cross-app-imports').map((m) => m.message)),
        );
      },
    );
    eslint.stdin?.end(code);
  });
}

describe('apps never import each other', () => {
  it.each([
    ['apps/api/src/x.ts', "import { a } from '../../cli/src/audit/io';"],
    ['apps/cli/src/audit/x.ts', "export { b } from '../../../projector/src/projector';"],
    ['apps/web/test/x.spec.ts', "import type { C } from '../../api/src/bootstrap';"],
    ['apps/launcher/src/x.ts', "const d = import('../../projector/src/main');"],
  ])('refuses %s reaching another app', async (file, code) => {
    expect(await problemsOf(file, code)).toEqual([expect.stringMatching(/imports apps\/\w+: move what they share/)]);
  });

  it.each([
    ['apps/api/src/x.ts', "import { a } from './commands/receipt';"],
    ['apps/api/test/x.spec.ts', "import { b } from '../../../test/support/ledger-api';"],
    ['apps/cli/src/x.ts', "import { c } from '@ledger/client';"],
    ['test/support/x.ts', "import { d } from '../../apps/api/src/bootstrap';"],
  ])('allows %s its own files, libraries and the shared test harness', async (file, code) => {
    expect(await problemsOf(file, code)).toEqual([]);
  });
});
