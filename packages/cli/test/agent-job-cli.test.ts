/**
 * The rest of an agent's job from the command line, against four real daemons sharing one
 * cluster: `agent usage`, `proposal list`, `evidence list` (each item verified against the registry's keys),
 * `events watch` bounded by `--limit`, `receipt get` and `receipt verify` (offline; a tampered
 * receipt refused with one line and exit 1).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeReceipt, encodeReceipt, fromHex, toHex } from '@conclave/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, waitFor } from '../src/local-cluster.ts';
import { runConclaveHere } from '../src/run-here.ts';
import { expectOk, expectRefused, type LocalDaemons, lastJson, startFourDaemons } from './support/run-cli.ts';

let daemons: LocalDaemons | undefined;
let dir = '';
let at: string[] = [];
afterAll(async () => {
  await daemons?.stop();
});

const conclave = (...args: string[]) => runConclaveHere(args);

/** The vote (agent-1 approving "ship") whose receipt the receipt tests fetch and check. */
let vote: { sequence: number; requestId: number; receipt: string } = {
  sequence: 0,
  requestId: 0,
  receipt: '',
};

beforeAll(async () => {
  daemons = await startFourDaemons();
  ({ dir } = daemons);
  at = ['--dir', dir];
  const voters = ['--rule', 'threshold:3', '--voters', '0,1,2,3'];
  expectOk(await conclave('proposal', 'propose', 'ship', ...voters, '--as', '0', ...at));
  expectOk(
    await conclave('proposal', 'propose', 'later', ...voters, '--title', 'Later?', '--as', '0', ...at),
  );
  const cast = await conclave('proposal', 'vote', 'ship', 'approve', '--as', '1', ...at, '--json');
  expectOk(cast);
  vote = lastJson(cast);
  // agent-2 equivocates: a second, different ballot on "ship" is refused and recorded as evidence.
  expectOk(await conclave('proposal', 'vote', 'ship', 'approve', '--as', '2', ...at));
  expectRefused(await conclave('proposal', 'vote', 'ship', 'reject', '--as', '2', ...at), 1, /EQUIVOCATION/);
}, 90_000);

describe('conclave proposal list, evidence list, events watch, receipt get|verify', () => {
  it("shows each agent's quota usage against its limit, as text and JSON", async () => {
    const text = await conclave('agent', 'usage', '--as', '3', ...at);
    expectOk(text);
    // agent-0 made the two proposals: both open, counted against its open-proposal quota.
    expect(text.stdout).toMatch(/^agent-0 .*open proposals 2\/\d+!?,/m);
    expect(text.stdout).toMatch(/^agent-3 .*open proposals 0\/\d+,/m);
    const json = lastJson(await conclave('agent', 'usage', '--as', '3', ...at, '--json'));
    const zero = json.usage.find((u: { agent: string }) => u.agent === 'agent-0');
    expect(zero.used.openProposalsPerAgentMax).toBe(2);
    expect(zero.limits.openProposalsPerAgentMax).toBeGreaterThanOrEqual(2);
    expect(json.usage.map((u: { agent: string }) => u.agent)).toEqual([
      'agent-0',
      'agent-1',
      'agent-2',
      'agent-3',
    ]);
  });

  it('lists proposals, open by default, as text and JSON', async () => {
    const text = await conclave('proposal', 'list', '--as', '3', ...at);
    expectOk(text);
    expect(text.stdout).toMatch(/^later: open, deadline \d+, by agent-0 — Later\?$/m);
    expect(text.stdout).toMatch(/^ship: open/m);
    const json = lastJson(
      await conclave('proposal', 'list', '--status', 'all', '--as', '3', ...at, '--json'),
    );
    expect(json.status).toBe('all');
    expect(json.proposals.map((p: { proposalId: string }) => p.proposalId)).toEqual(['later', 'ship']);
    expect(json.proposals[1]).toMatchObject({ proposer: 'agent-0', status: 'open', phase: 'voting' });
    expectRefused(await conclave('proposal', 'list', '--status', 'x', '--as', '3', ...at), 2, /--status/);
  });

  it('lists evidence with each item verified against the registry, filtered by agent and proposal', async () => {
    const text = await conclave('evidence', 'list', '--as', '3', ...at);
    expectOk(text);
    expect(text.stdout).toMatch(/evidence \d+: ballot — agent-2 signed two different ballots .*: verified$/m);
    const json = lastJson(await conclave('evidence', 'list', '--agent', '2', '--as', '3', ...at, '--json'));
    expect(json.agent).toBe('agent-2');
    expect(json.evidence).toHaveLength(1);
    expect(json.evidence[0]).toMatchObject({
      kind: 'ballot',
      agent: 'agent-2',
      proposalId: 'ship',
      verified: true,
      reason: null,
    });
    expect(json.evidence[0].first.signature).toMatch(/^[0-9a-f]+$/);
    const none = lastJson(
      await conclave('evidence', 'list', '--proposal', 'later', '--as', '3', ...at, '--json'),
    );
    expect(none).toEqual({ proposalId: 'later', evidence: [] });
    const first = lastJson(await conclave('evidence', 'list', '--limit', '1', '--as', '3', ...at, '--json'));
    expect(first.evidence).toHaveLength(1);
    expect((await conclave('evidence', 'list', '--agent', '1', '--as', '3', ...at)).stdout).toBe(
      'no evidence\n',
    );
  });

  it('watches events in log order, bounded by --limit, as lines and JSON objects', async () => {
    const lines = await conclave('events', 'watch', '--limit', '2', '--as', '3', ...at);
    expectOk(lines);
    const printed = lines.stdout.trim().split('\n');
    expect(printed).toHaveLength(2);
    expect(printed[0]).toMatch(/^\d+:0 proposal_created /);
    expect(printed[0]).toMatch(/ producer=agent-0 /);
    expect(printed[0]).toMatch(/ proposalId=ship( |$)/);
    expect(printed[1]).toMatch(/proposal_created .*proposalId=later/);

    // Without --follow it stops once caught up: every event so far, each one JSON object.
    const all = await conclave('events', 'watch', '--as', '3', ...at, '--json');
    expectOk(all);
    const events = all.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(events.map((e: { kind: string }) => e.kind)).toEqual(
      expect.arrayContaining(['proposal_created', 'ballot_cast', 'evidence_recorded']),
    );
    const cast = events.find((e: { kind: string; agent?: string }) => e.kind === 'ballot_cast');
    expect(cast).toMatchObject({ proposalId: 'ship', agent: 'agent-1', sequence: vote.sequence });

    // --from skips what came before; --follow with --limit returns once it has the events.
    const from = await conclave(
      'events',
      'watch',
      '--from',
      String(vote.sequence),
      '--follow',
      '--limit',
      '1',
      '--as',
      '3',
      ...at,
      '--json',
    );
    expectOk(from);
    expect(JSON.parse(from.stdout)).toMatchObject({ kind: 'ballot_cast', sequence: vote.sequence });
    expectRefused(await conclave('events', 'watch', '--limit', '0', '--as', '3', ...at), 2, /--limit/);
  });

  it('follows new events until Ctrl-C, then exits 0', async () => {
    const cli = join(ROOT, 'packages/cli/src/cli.ts');
    const args = ['events', 'watch', '--follow', '--from', String(vote.sequence + 1), '--as', '3', ...at];
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: ROOT });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      // Caught up with the log (agent-2's ballot and its evidence), it waits for more.
      await waitFor(
        'the watch to catch up',
        async () => (/ballot_voided|evidence_recorded/.test(stdout) ? true : undefined),
        30_000,
      );
      expectOk(
        await conclave(
          'proposal',
          'propose',
          'followed',
          '--rule',
          'threshold:1',
          '--voters',
          '1',
          '--as',
          '1',
          ...at,
        ),
      );
      await waitFor(
        'the new proposal in the watch',
        async () => (/proposal_created .*proposalId=followed/.test(stdout) ? true : undefined),
        30_000,
      );
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('fetches a receipt, verifies it offline and refuses a tampered one', async () => {
    expect(vote.requestId).toBeTypeOf('number');
    const file = join(dirname(dir), 'vote.receipt');
    const got = await conclave(
      'receipt',
      'get',
      '--sequence',
      String(vote.sequence),
      '--request-id',
      String(vote.requestId),
      '--as',
      '1',
      ...at,
      '--out',
      file,
    );
    expectOk(got);
    expect(got.stdout).toMatch(
      /wrote the receipt of request \d+ \(sequence \d+, view \d+, signed by replicas/,
    );
    // The same request and sequence; the commits may be another 2f+1 replicas' than the vote's.
    const fetched = decodeReceipt(fromHex(readFileSync(file, 'utf8').trim()));
    const voted = decodeReceipt(fromHex(vote.receipt));
    expect(fetched?.sequence).toBe(vote.sequence);
    expect(toHex(fetched?.request.signature ?? new Uint8Array())).toBe(
      toHex(voted?.request.signature ?? new Uint8Array(1)),
    );

    const checked = await conclave('receipt', 'verify', file, ...at);
    expectOk(checked);
    expect(checked.stdout).toMatch(
      new RegExp(`^valid: request ${vote.requestId} of agent-1, decided at sequence ${vote.sequence}`),
    );
    expect(checked.stdout).toMatch(/signed by replicas [0-3](, [0-3]){2,3} \([34] of 4; 3 needed\)/);
    const json = lastJson(await conclave('receipt', 'verify', file, ...at, '--json'));
    expect(json).toMatchObject({
      valid: true,
      agent: 'agent-1',
      requestId: vote.requestId,
      sequence: vote.sequence,
      quorum: 3,
      replicas: 4,
      agentKeyInClusterFile: true,
    });
    expect(json.signers.length).toBeGreaterThanOrEqual(3);

    // What `proposal vote --json` printed verifies as it is: JSON with a "receipt" field.
    const voteFile = join(dirname(dir), 'vote.json');
    writeFileSync(voteFile, JSON.stringify(vote));
    expectOk(await conclave('receipt', 'verify', voteFile, ...at));

    // One commit signature altered: refused, naming the replica, exit 1.
    const receipt = decodeReceipt(fromHex(vote.receipt));
    if (receipt === undefined) throw new Error('the vote printed no receipt');
    const [commit, ...others] = receipt.commits;
    if (commit === undefined) throw new Error('no commits');
    const signature = Uint8Array.from(commit.signature);
    signature[0] = (signature[0] ?? 0) ^ 1;
    const tampered = join(dirname(dir), 'tampered.receipt');
    writeFileSync(
      tampered,
      toHex(encodeReceipt({ ...receipt, commits: [{ bytes: commit.bytes, signature }, ...others] })),
    );
    const refused = await conclave('receipt', 'verify', tampered, ...at);
    expectRefused(refused, 1, /^error: RECEIPT_INVALID: commit signature of replica \d does not verify$/);
    const refusedJson = await conclave('receipt', 'verify', tampered, ...at, '--json');
    expect(refusedJson.status).toBe(1);
    expect(lastJson(refusedJson)).toMatchObject({ valid: false });

    const garbage = join(dirname(dir), 'garbage.receipt');
    writeFileSync(garbage, 'not a receipt');
    expectRefused(
      await conclave('receipt', 'verify', garbage, ...at),
      1,
      /RECEIPT_INVALID: .* does not hold a receipt/,
    );
    expectRefused(await conclave('receipt', 'get', '--as', '1', ...at), 2, /missing --sequence/);
  });
});
