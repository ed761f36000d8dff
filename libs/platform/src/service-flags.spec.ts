import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from './project-root';
import { SERVICE_NODE_FLAGS } from './service-flags';

const read = (file: string) => readFileSync(path.join(projectRoot(), file), 'utf8');

describe('the service flags, wherever services are started by hand', () => {
  const flags = SERVICE_NODE_FLAGS.join(' ');

  it('are in the image: its NODE_OPTIONS', () => {
    expect(read('docker/Dockerfile')).toMatch(new RegExp(`NODE_OPTIONS=${flags}( |\\\\|$)`, 'm'));
  });

  it("are in npm run projector, and in every README command that starts a service's main.js", () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.projector).toBe(`node ${flags} dist/apps/projector/src/main.js`);
    const commands = read('README.md').match(/node [^`\n&]*dist\/apps\/(api|projector)\/src\/main\.js/g) ?? [];
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) {
      // The Dockerfile's own CMD needs none: NODE_OPTIONS carries them there.
      expect(command).toContain(flags);
    }
  });
});
