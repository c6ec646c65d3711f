/**
 * The module graph in numbers, for the docs: how many imports go from each module of the layout
 * to each other one (type-only imports counted apart), as a Markdown table. Read from
 * dependency-cruiser's JSON with the rule file's options, so it counts what `npm run depcruise`
 * checks.
 *
 *   npm run deps:graph
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs = ['common', 'gateway', 'inventory', 'orders', 'scripts', 'web', 'test', 'load-tests'];
const modules = ['common/platform', 'common/contracts', 'inventory', 'orders', 'gateway', 'web', 'scripts', 'test', 'load-tests'];

interface Cruised {
  modules: { source: string; dependencies: { resolved: string; dependencyTypes: string[] }[] }[];
}

function moduleOf(path: string): string | undefined {
  return modules.find((m) => path === m || path.startsWith(`${m}/`));
}

const r = spawnSync(join(root, 'node_modules', '.bin', 'depcruise'), ['--config', '.dependency-cruiser.cjs', '--output-type', 'json', ...dirs], { cwd: root, encoding: 'utf8', maxBuffer: 256 << 20 });
if (r.status !== 0 && !r.stdout) {
  process.stderr.write(r.stderr);
  process.exit(1);
}
const cruised = JSON.parse(r.stdout) as Cruised;

const edges = new Map<string, { all: number; typeOnly: number }>();
let files = 0;
for (const m of cruised.modules) {
  const from = moduleOf(m.source);
  if (!from) continue;
  files++;
  for (const d of m.dependencies) {
    const to = moduleOf(d.resolved);
    if (!to || to === from) continue;
    const key = `${from} → ${to}`;
    const e = edges.get(key) ?? { all: 0, typeOnly: 0 };
    e.all++;
    if (d.dependencyTypes.includes('type-only')) e.typeOnly++;
    edges.set(key, e);
  }
}

const rows = [...edges].sort(([a], [b]) => {
  const [fa, ta] = a.split(' → ') as [string, string];
  const [fb, tb] = b.split(' → ') as [string, string];
  return modules.indexOf(fa) - modules.indexOf(fb) || modules.indexOf(ta) - modules.indexOf(tb);
});
const out = [`Imports between modules (${files} files; an import of several names from one file counts once):`, '', '| from → to | imports | of them type-only |', '|---|---:|---:|'];
for (const [key, e] of rows) out.push(`| ${key} | ${e.all} | ${e.typeOnly} |`);
process.stdout.write(`${out.join('\n')}\n`);
