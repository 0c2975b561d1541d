/**
 * `npm run test:stress`: the e2e suite under CPU pressure, to prove it does not pass by luck.
 *
 * Starts one busy-loop worker thread per core (`os.availableParallelism()`), so the browser, the
 * services and the test runner all compete for CPU as on a loaded CI machine, then runs
 * `npx playwright test` STRESS_RUNS times (default `DEFAULT_RUNS`) one after the other, stops the
 * load, prints each run's result and "N of M passed", and exits non-zero unless every run passed.
 *
 * Extra arguments go to Playwright, e.g. `npm run test:stress -- test/e2e/hostile-host.spec.ts`.
 * Not part of `npm test`: it takes several full e2e runs.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** How many full e2e runs, unless STRESS_RUNS says otherwise. */
export const DEFAULT_RUNS = 5;

function runCount(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_RUNS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`STRESS_RUNS must be a whole number of at least 1 (got "${raw}")`);
    process.exit(2);
  }
  return n;
}

const runs = runCount(process.env.STRESS_RUNS);
const cores = availableParallelism();
// A worker that never yields keeps one core fully busy until it is terminated.
const load = Array.from({ length: cores }, () => new Worker('for (;;) {}', { eval: true }));
console.log(`stress: ${cores} busy-loop worker(s), ${runs} run(s) of npx playwright test ${process.argv.slice(2).join(' ')}`.trimEnd());

const results: boolean[] = [];
try {
  for (let i = 1; i <= runs; i++) {
    const started = process.hrtime.bigint();
    // Synchronous on purpose: this thread only waits; the busy workers keep running meanwhile.
    const run = spawnSync('npx', ['playwright', 'test', ...process.argv.slice(2)], { stdio: 'inherit', env: process.env });
    const seconds = Number((process.hrtime.bigint() - started) / 1_000_000n) / 1000;
    const passed = run.status === 0;
    results.push(passed);
    console.log(`stress: run ${i} of ${runs}: ${passed ? 'passed' : `FAILED (exit ${run.status ?? run.signal})`} in ${seconds.toFixed(1)} s`);
  }
} finally {
  await Promise.all(load.map((w) => w.terminate()));
}

const passed = results.filter(Boolean).length;
results.forEach((ok, i) => console.log(`  run ${i + 1}: ${ok ? 'pass' : 'FAIL'}`));
console.log(`${passed} of ${runs} passed`);
process.exit(passed === runs ? 0 : 1);
