/**
 * The short version of `pnpm test:hosts`: four replicas on their own hosts (network namespaces)
 * over a 50 ms RTT WAN, a small closed loop and one cut of the primary. It needs root and
 * `ip netns`; where those are missing the first test says why, so a skipped run is visible.
 */
import { describe, expect, it } from 'vitest';
import { hostsUnavailableReason } from './net.ts';
import { runHosts } from './scenario.ts';

const reason = hostsUnavailableReason();

describe('replicas on separate hosts', () => {
  it('can run here, or says why not', () => {
    if (reason !== undefined)
      console.warn(`test/hosts/hosts-short.test.ts does not run its scenario on this machine: ${reason}`);
    // Either the scenario below runs, or the reason is one a person can act on.
    expect(reason === undefined || /root|namespace|TUN|tun|python3|Linux/.test(reason), reason).toBe(true);
  });

  it.runIf(reason === undefined)(
    'a genesis cluster across namespaces commits over a 50 ms RTT and survives its primary cut off',
    async () => {
      const report = await runHosts({
        wan: { delayMs: 25, jitterMs: 5, lossPercent: 0.5 },
        benchWrites: 24,
        agents: 2,
        cuts: ['primary'],
        cutMs: 0,
        log: (line) => console.log(`${new Date().toISOString().slice(11, 23)} ${line}`),
      });
      expect(report.writes).toBe(24);
      expect(report.failed).toBe(0);
      // Four one-way trips at least (request, pre-prepare, prepare, commit… reply): above one RTT.
      expect(report.p50Ms).toBeGreaterThan(50);
      expect(report.primary?.viewAfter).toBeGreaterThan(report.primary?.viewBefore ?? 0);
      expect(report.primary?.recoveryMs).toBeLessThan(30_000);
    },
    120_000,
  );
});
