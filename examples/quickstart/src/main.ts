/**
 * Quick start: two agents that do not trust each other agree on which model to ship, through a
 * 4-replica cluster running inside this process. Run: pnpm --filter @conclave-examples/quickstart start
 */
import { pathToFileURL } from 'node:url';
import { coordination, startInProcessCluster, verifyReceipt } from '@conclave/sdk';

// --- the user code (with the import above: 27 lines) ------------------------------------------
export async function quickstart(print: (line: string) => void = console.log) {
  const cluster = await startInProcessCluster({ agents: ['agent-0', 'agent-1'] });
  const [alice, bob] = [await cluster.connect('agent-0'), await cluster.connect('agent-1')];
  try {
    const [a, b] = [coordination(alice), coordination(bob)];
    await a.propose({
      proposalId: 'ship-model',
      title: 'Ship model v2 to production?',
      rule: { kind: 'threshold', k: 2 },
      voters: [
        { agent: 'agent-0', weight: 1 },
        { agent: 'agent-1', weight: 1 },
      ],
      ttlTicks: 10_000,
    });
    const votes = [await a.vote('ship-model', 'approve'), await b.vote('ship-model', 'approve')];
    const decision = await b.waitForDecision('ship-model', { timeoutMs: 5_000 });
    const receiptsVerified = votes.every((v) => verifyReceipt(v.receipt, cluster.cluster, cluster.crypto).ok);
    print(`"${decision.title}" → ${decision.status} (${decision.tally.approve.count} of 2 approve)`);
    print(`both vote receipts verify offline against the replicas' keys: ${receiptsVerified}`);
    return { outcome: decision.status, receiptsVerified };
  } finally {
    await Promise.all([alice.close(), bob.close()]);
    await cluster.stop();
  }
}
// -------------------------------------------------------------------------------------------------

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = performance.now();
  const summary = await quickstart();
  const ok = summary.outcome === 'approved' && summary.receiptsVerified;
  console.log(`${ok ? 'ok' : 'FAILED'} in ${Math.round(performance.now() - started)} ms`);
  process.exit(ok ? 0 : 1);
}
