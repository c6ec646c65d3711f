// Prints "N passed, N failed" from vitest's JSON report (a failed run with no report counts as one failure).
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results/results.json';
try {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const failedSuites = (r.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + failedSuites} failed`);
} catch {
  console.log('0 passed, 1 failed');
}
