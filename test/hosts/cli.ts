/**
 * `pnpm test:hosts [--rtt 50,100] [--writes N] [--agents N] [--cut-ms MS] [--protocol JSON]
 * [--tick-ms MS] [--json]`: the hosts scenario (scenario.ts) once per round-trip time, every cut,
 * and a table of what it measured.
 * Exit 0 when every run completed; 1 when one failed; 2 when this machine cannot run it.
 */
import { parseArgs } from 'node:util';
import { hostsUnavailableReason } from './net.ts';
import { cleanupAll, type HostsReport, runHosts } from './scenario.ts';

const { values } = parseArgs({
  options: {
    rtt: { type: 'string', default: '50,100' },
    writes: { type: 'string', default: '200' },
    agents: { type: 'string', default: '4' },
    'cut-ms': { type: 'string', default: '5000' },
    protocol: { type: 'string' },
    'tick-ms': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: removing the run's namespaces, processes and directories\n`);
    cleanupAll();
    process.exit(130);
  });
process.on('exit', cleanupAll);

const reason = hostsUnavailableReason();
if (reason !== undefined) {
  process.stderr.write(`test:hosts cannot run here: ${reason}\n`);
  process.exit(2);
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const reports: HostsReport[] = [];
let failed = false;
for (const rtt of values.rtt.split(',').map(Number)) {
  const wan = { delayMs: rtt / 2, jitterMs: rtt / 10, lossPercent: 0.5 };
  log(`— RTT ${rtt} ms (one way ${wan.delayMs} ± ${wan.jitterMs} ms, ${wan.lossPercent}% loss)`);
  try {
    reports.push(
      await runHosts({
        wan,
        benchWrites: Number(values.writes),
        agents: Number(values.agents),
        cuts: ['backup', 'primary'],
        cutMs: Number(values['cut-ms']),
        ...(values.protocol === undefined ? {} : { protocol: JSON.parse(values.protocol) }),
        ...(values['tick-ms'] === undefined ? {} : { tickMs: Number(values['tick-ms']) }),
        log,
      }),
    );
  } catch (error) {
    failed = true;
    log(`RTT ${rtt} ms failed: ${(error as Error).stack ?? error}`);
  }
}

if (values.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
else {
  const rows = reports.map((r) =>
    [
      `${r.rttMs}`,
      `${r.p50Ms.toFixed(0)}`,
      `${r.p99Ms.toFixed(0)}`,
      `${r.opsPerSecond.toFixed(1)}`,
      r.backup === undefined
        ? '-'
        : `${r.backup.ackedDuringCut} acked, caught up in ${(r.backup.catchUpMs / 1000).toFixed(1)} s`,
      r.primary === undefined ? '-' : `${(r.primary.recoveryMs / 1000).toFixed(2)} s`,
    ].join(' | '),
  );
  process.stdout.write(
    `| RTT ms | p50 ms | p99 ms | ops/s (${values.agents} agents) | backup cut ${Number(values['cut-ms']) / 1000} s | primary cut → next ack |\n` +
      '| --- | --- | --- | --- | --- | --- |\n' +
      rows.map((row) => `| ${row} |\n`).join(''),
  );
}
process.exit(failed ? 1 : 0);
