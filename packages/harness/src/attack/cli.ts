/**
 * `pnpm attack [--only NAME[,NAME]] [--duration S] [--runs N] [--json]`: the attacks of issue 14 against
 * real daemons, one fresh cluster each, one table row each, last line `N passed, M failed`.
 * Exit 0 iff all pass; 1 if one fails; 2 (one line) if a cluster cannot be set up or an option is
 * bad; 130 on SIGINT/SIGTERM.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '@conclave/cli';
import { buildDaemon } from '@conclave/cli/build';
import { ATTACKS } from './catalog.ts';
import type { AttackMeasurement } from './criteria.ts';
import { ATTACK_USAGE, type AttackOptions, parseAttackArgs } from './options.ts';
import { type AttackRow, detailLines, formatTable, rowOfRuns, summaryLine } from './report.ts';
import { runAttack } from './runner.ts';

async function runAll(options: AttackOptions, bundle: string | undefined): Promise<AttackRow[]> {
  const chosen = options.only.length === 0 ? ATTACKS : ATTACKS.filter((a) => options.only.includes(a.name));
  const rows: AttackRow[] = [];
  for (const [index, entry] of chosen.entries()) {
    process.stderr.write(`[${index + 1}/${chosen.length}] ${entry.name}: ${entry.summary}…\n`);
    const runs: AttackMeasurement[] = [];
    for (let run = 0; run < options.runs; run++) runs.push(await runAttack(entry, { ...options, bundle }));
    const row = rowOfRuns(runs);
    process.stderr.write(`  ${row.verdict.pass ? 'PASS' : `FAIL ${row.verdict.failed.join(',')}`}\n`);
    rows.push(row);
  }
  return rows;
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parseAttackArgs(argv);
  if (options.help) {
    console.log(ATTACK_USAGE);
    return 0;
  }
  // A bundle of this run's own, built from the current sources: replicas run as plain JS.
  const bundleDir = options.source ? undefined : join(ROOT, 'packages/cli/dist', `attack-${process.pid}`);
  // On an interrupt the daemons and the attacker stop by themselves as their stdin closes.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      if (bundleDir !== undefined) rmSync(bundleDir, { recursive: true, force: true });
      process.exit(130);
    });
  try {
    const bundle = bundleDir === undefined ? undefined : await buildDaemon(bundleDir);
    const rows = await runAll(options, bundle);
    console.log(formatTable(rows));
    for (const line of detailLines(rows)) console.log(line);
    if (options.json) for (const row of rows) console.log(JSON.stringify(row));
    console.log(summaryLine(rows));
    return rows.every((r) => r.verdict.pass) ? 0 : 1;
  } finally {
    if (bundleDir !== undefined) rmSync(bundleDir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(), 2_000).unref();
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    console.error(`attack: ${message}`);
    process.exitCode = 2;
    setTimeout(() => process.exit(), 2_000).unref();
  },
);
