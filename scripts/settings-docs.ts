/**
 * Writes the README's configuration table from the settings table (common/platform/config.ts),
 * between the `settings:begin` and `settings:end` markers. `--check` only says whether it is
 * current (exit 1 when stale).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { settingsMarkdown } from '../common/platform/config.ts';

export const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
const begin = '<!-- settings:begin -->';
const end = '<!-- settings:end -->';

/** The README with its settings table replaced by the current one. */
export function withSettingsTable(readme: string): string {
  const from = readme.indexOf(begin);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${begin} … ${end} section`);
  return `${readme.slice(0, from + begin.length)}\n${settingsMarkdown()}\n${readme.slice(to)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const readme = readFileSync(readmePath, 'utf8');
  const next = withSettingsTable(readme);
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error('README.md: the configuration table is stale; run npm run docs:settings');
      process.exit(1);
    }
  } else if (next !== readme) {
    writeFileSync(readmePath, next);
    console.log('README.md: configuration table written');
  }
}
