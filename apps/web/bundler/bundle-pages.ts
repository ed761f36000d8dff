/**
 * Bundles the workspace pages (Preact, TypeScript, CSS) into dist/web, where the API serves them.
 * Part of `npm run build`; the test run bundles once before the browser tests.
 */
// Relative, not @ledger/platform: jest's global setup runs this without the path aliases.
import { projectRoot, workspaceAssetsDir } from '../../../libs/platform/src/project-root';
import { build } from 'esbuild';
import path from 'node:path';

export async function bundlePages(outdir: string = workspaceAssetsDir()): Promise<void> {
  await build({
    entryPoints: { workspace: path.join(projectRoot(), 'apps', 'web', 'pages', 'main.tsx') },
    outdir,
    bundle: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
}

if (require.main === module) {
  bundlePages().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
