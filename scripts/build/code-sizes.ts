/**
 * File and function sizes of the library code, for the docs and reviews: how many files and
 * functions fall in each size band (lines, blank and comment lines included, as a reader scrolls
 * them), per module and in all, and the largest of each. Functions are every function
 * declaration, method, accessor, constructor, arrow function and function expression, read with
 * the TypeScript parser; a nested function counts on its own and inside its parent.
 *
 *   npm run sizes [-- <root>]      (root: another checkout; default this one)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = process.argv[2] ?? fileURLToPath(new URL('../..', import.meta.url));
const dirs = ['common', 'gateway', 'inventory', 'orders', 'scripts', 'web'];
const fileBands = [100, 200, 400, 800];
const functionBands = [10, 25, 50, 100];

function* sources(dir: string): Generator<string> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) {
      if (n !== 'node_modules' && n !== 'migrations') yield* sources(p);
    } else if (n.endsWith('.ts') && !n.endsWith('.d.ts')) yield p;
  }
}

/** The band label a size falls in: "≤10", ..., ">100". */
function band(n: number, bands: readonly number[]): string {
  const b = bands.find((x) => n <= x);
  return b === undefined ? `>${bands.at(-1)}` : `≤${b}`;
}

interface Sized {
  readonly name: string;
  readonly lines: number;
}

function functionsOf(file: string, text: string): Sized[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Sized[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const named = (node as ts.FunctionLikeDeclaration).name;
      const name = named && ts.isIdentifier(named) ? named.text : ts.isArrowFunction(node) ? '(arrow)' : '(anonymous)';
      out.push({ name: `${relative(root, file)}:${start + 1} ${name}`, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const rows: { module: string; files: Sized[]; functions: Sized[] }[] = [];
for (const d of dirs) {
  const files: Sized[] = [];
  const functions: Sized[] = [];
  for (const f of sources(join(root, d))) {
    const text = readFileSync(f, 'utf8');
    files.push({ name: relative(root, f), lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) });
    functions.push(...functionsOf(f, text));
  }
  if (files.length) rows.push({ module: d, files, functions });
}

function table(kind: 'files' | 'functions', bands: readonly number[]): string[] {
  const labels = [...bands.map((b) => `≤${b}`), `>${bands.at(-1)}`];
  const head = [`| ${kind} (lines) | ${labels.join(' | ')} | count | median | p90 | max |`, `|---|${labels.map(() => '---:').join('|')}|---:|---:|---:|---:|`];
  const line = (name: string, xs: Sized[]) => {
    const sorted = xs.map((x) => x.lines).sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    const counts = labels.map((l) => xs.filter((x) => band(x.lines, bands) === l).length);
    return `| ${name} | ${counts.join(' | ')} | ${xs.length} | ${at(0.5)} | ${at(0.9)} | ${sorted.at(-1) ?? 0} |`;
  };
  return [...head, ...rows.map((r) => line(r.module, r[kind])), line('**all**', rows.flatMap((r) => r[kind]))];
}

const largest = (xs: Sized[], n: number) =>
  xs
    .sort((a, b) => b.lines - a.lines)
    .slice(0, n)
    .map((x) => `- ${x.name} (${x.lines})`);

const out = [
  ...table('files', fileBands),
  '',
  ...table('functions', functionBands),
  '',
  'Largest files:',
  ...largest(
    rows.flatMap((r) => r.files),
    5,
  ),
  '',
  'Largest functions:',
  ...largest(
    rows.flatMap((r) => r.functions),
    5,
  ),
];
process.stdout.write(`${out.join('\n')}\n`);
