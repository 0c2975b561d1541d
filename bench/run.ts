/**
 * `npm run bench`: bundle sizes, tokenize latency/throughput, and "agent asks -> card fields
 * interactive", each beside its baseline measured in the same run and its budget from
 * docs/design.md ("Performance budgets"). Writes bench/RESULTS.md.
 *
 * A missed budget is a finding, not a failure: the exit code is 0. It is 1 only when a benchmark
 * crashed (its error is printed and recorded; the other sections still run).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT, table } from './lib.ts';
import { baselineTable, latencyTables, runLatency, type LatencyResult } from './latency.ts';
import { kb, runSizes, type SizeRow } from './sizes.ts';
import { runTokenize, tokenizeTables } from './tokenize.ts';

interface Section {
  title: string;
  body: string;
  crashed: boolean;
  seconds: number;
}

function sizesTable(rows: SizeRow[]): string {
  return table(
    ['bundle', 'min', 'min+gzip', 'baseline (same run)', 'budget (gz)', 'status'],
    rows.map((row) => [
      row.name,
      kb(row.bytes),
      kb(row.gzip),
      row.baseline ?? '',
      row.budget ? kb(row.budget) : '',
      row.budget ? (row.gzip <= row.budget ? 'met' : 'MISSED') : '',
    ]),
  );
}

function describeError(error: unknown): string {
  if (error instanceof Error) return (error.stack ?? error.message).split('\n').filter((l, i) => i === 0 || !/^\s+at /.test(l)).join('\n');
  return String(error);
}

async function section(title: string, run: () => Promise<string>): Promise<Section> {
  const started = performance.now();
  console.log(`\n=== ${title} ===`);
  let body: string;
  let crashed = false;
  try {
    body = await run();
  } catch (error) {
    crashed = true;
    const partial = (error as { baseline?: LatencyResult['baseline'] }).baseline;
    body = [
      `**ERROR** (benchmark crashed; no figures):`,
      '',
      '```',
      describeError(error),
      '```',
      ...(partial ? ['', 'Baseline measured before the failure:', '', baselineTable(partial)] : []),
    ].join('\n');
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(body);
  console.log(`(${title}: ${seconds.toFixed(1)} s)`);
  return { title, body, crashed, seconds };
}

function chromiumVersion(): string {
  try {
    const out = execFileSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    return out.trim();
  } catch {
    return 'unknown';
  }
}

const startedAt = new Date();
const loadBefore = loadavg();
let browserVersion: string | null = null;

const sections: Section[] = [];
sections.push(await section('Bundle sizes (min + gzip)', async () => sizesTable(await runSizes())));
sections.push(await section('Tokenize (POST /v1/tokens)', async () => tokenizeTables(await runTokenize())));
sections.push(
  await section('Agent asks for a card -> card fields interactive (Chromium)', async () => {
    const result = await runLatency();
    browserVersion = result.chromium;
    return latencyTables(result);
  }),
);

const loadAfter = loadavg();
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const machine = [
  `- date: ${startedAt.toISOString()}`,
  `- machine: ${availableParallelism()} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GB RAM, ${process.platform} ${process.arch}`,
  `- node: ${process.version}`,
  `- chromium: ${browserVersion ? `Chromium ${browserVersion}` : chromiumVersion()}`,
  `- load average (1/5/15 min) before: ${loadBefore.map((l) => l.toFixed(2)).join(' / ')}, after: ${loadAfter.map((l) => l.toFixed(2)).join(' / ')}` +
    ' (other work on the machine inflates latencies and lowers throughputs; baselines share the same conditions)',
  `- total time: ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s`,
].join('\n');

const markdown = [
  '# Benchmark results',
  '',
  'Written by `npm run bench` (bench/run.ts). Each figure is printed beside a baseline measured in the same run and its',
  'budget from docs/design.md ("Performance budgets"). Budgets are targets, not tests: a MISSED budget does not fail the run.',
  '',
  machine,
  '',
  ...sections.flatMap((s) => [`## ${s.title}`, '', s.body, '']),
].join('\n');

writeFileSync(join(ROOT, 'bench/RESULTS.md'), markdown);
console.log(`\n${machine}\nwrote bench/RESULTS.md`);
const crashed = sections.filter((s) => s.crashed).map((s) => s.title);
if (crashed.length) console.error(`crashed: ${crashed.join(', ')}`);
// Every child process and the browser were stopped by their sections; exit even if a stray handle remains.
process.exit(crashed.length ? 1 : 0);
