/** The checkout (or image) root: the folder with package.json, whether code runs from source or dist/. */
import { existsSync } from 'node:fs';
import path from 'node:path';

export function projectRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** Where the bundled workspace pages (script and styles) are written and served from. */
export const workspaceAssetsDir = (): string => path.join(projectRoot(), 'dist', 'web');
