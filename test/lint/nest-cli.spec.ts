/** nest-cli.json names every project the repository has, where it is: apps/*, libs/* and projections. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const nestCli = JSON.parse(readFileSync(path.join(root, 'nest-cli.json'), 'utf8')) as {
  projects: Record<string, { type: string; root: string; entryFile: string; sourceRoot: string }>;
};

it('lists every app and library, each with an entry file that exists', () => {
  const folders = (parent: string) => readdirSync(path.join(root, parent)).map((name) => `${parent}/${name}`);
  const expected = [...folders('apps'), ...folders('libs'), 'projections'].sort();
  const listed = Object.values(nestCli.projects).map((project) => project.root);
  expect(listed.sort()).toEqual(expected);
  for (const project of Object.values(nestCli.projects)) {
    expect([project.root, existsSync(path.join(root, project.sourceRoot, `${project.entryFile}.ts`))]).toEqual([
      project.root,
      true,
    ]);
  }
});
