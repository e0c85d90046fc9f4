/**
 * Sealed proposals from the command line, against four real daemons (10 ms ticks; commit phases of 8 and 10 s, so that a loaded machine
 * still fits the steps in them): propose
 * `--sealed`, vote in one go and in two halves, a reveal of another ballot refused before it is
 * sent, `show` with the phase and who committed and revealed, and the no-reveal evidence.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runConclaveHere } from '../src/run-here.ts';
import { expectOk, expectRefused, type LocalDaemons, lastJson, startFourDaemons } from './support/run-cli.ts';

let daemons: LocalDaemons | undefined;
afterAll(async () => {
  await daemons?.stop();
});

const conclave = (...args: string[]) => runConclaveHere(args);

describe('conclave proposal with sealed ballots, against real daemons', () => {
  it('proposes sealed, commits, waits and reveals; a different reveal is refused unsent; a missing reveal is evidence', async () => {
    daemons = await startFourDaemons();
    const { dir } = daemons;
    const at = ['--dir', dir];
    const sealed = (commitTicks: number) => ['--sealed', '--commit-ticks', String(commitTicks)];

    expectRefused(
      await conclave(
        'proposal',
        'propose',
        'x',
        '--rule',
        'threshold:1',
        '--voters',
        '0',
        '--commit-ticks',
        '5',
        '--as',
        '0',
        ...at,
      ),
      2,
      /need --sealed/,
    );

    // "quiet": agent-2 commits and never reveals; its deadline passes while "ship" runs.
    const quiet = ['--rule', 'threshold:1', '--voters', '2', '--ttl', '1100', ...sealed(800)];
    expectOk(await conclave('proposal', 'propose', 'quiet', ...quiet, '--as', '0', ...at));
    expectOk(await conclave('proposal', 'vote', 'quiet', 'approve', '--commit-only', '--as', '2', ...at));

    const ship = [
      '--rule',
      'threshold:2',
      '--voters',
      '0,1,2',
      '--ttl',
      '3000',
      '--missing-reveal',
      'reject',
    ];
    const proposed = await conclave(
      'proposal',
      'propose',
      'ship',
      ...ship,
      ...sealed(1000),
      '--as',
      '0',
      ...at,
    );
    expectOk(proposed);
    expect(proposed.stdout).toMatch(
      /sealed: voters commit until \d+ and reveal until \d+; .* counts as reject/,
    );

    const committed = await conclave(
      'proposal',
      'vote',
      'ship',
      'approve',
      '--reason',
      'evals pass',
      '--commit-only',
      '--as',
      '1',
      ...at,
    );
    expectOk(committed);
    expect(committed.stdout).toMatch(/committed on ship at sequence \d+/);
    expect(committed.stdout).toMatch(/--reason "evals pass" --reveal --as agent-1/);
    const during = lastJson(await conclave('proposal', 'show', 'ship', '--as', '3', ...at, '--json'));
    expect(during).toMatchObject({
      status: 'open',
      phase: 'commit',
      sealed: { committed: ['agent-1'], revealed: [] },
    });
    expect(during.tally.counted).toEqual([]);

    // One call: commit, wait for the commit deadline, reveal, each step said.
    const voted = await conclave(
      'proposal',
      'vote',
      'ship',
      'approve',
      '--as',
      '0',
      '--timeout',
      '30',
      ...at,
    );
    expectOk(voted);
    expect(voted.stdout).toMatch(
      /committed on ship at sequence \d+[^\n]*\nwaiting for the commit deadline \d+ to reveal…\nrevealed approve on ship at sequence \d+/,
    );
    expect(voted.stdout).toMatch(/proposal ship: open \(reveal phase\)/);
    expect(voted.stdout).toMatch(/not revealed yet: agent-1/);

    // Another reason is another ballot: refused here, before it could become evidence.
    const wrong = await conclave('proposal', 'vote', 'ship', 'approve', '--reveal', '--as', '1', ...at);
    expectRefused(wrong, 1, /SEAL_MISMATCH: .*nothing was sent/);
    const revealed = await conclave(
      'proposal',
      'vote',
      'ship',
      'approve',
      '--reason',
      'evals pass',
      '--reveal',
      '--as',
      '1',
      ...at,
      '--json',
    );
    expectOk(revealed);
    expect(lastJson(revealed)).toMatchObject({
      status: 'approved',
      phase: 'decided',
      duplicate: false,
      sealed: { commitSequence: null },
    });
    const shown = await conclave('proposal', 'show', 'ship', '--as', '3', ...at);
    expect(shown.stdout).toMatch(/committed: agent-0, agent-1; revealed: agent-0, agent-1/);
    expect(shown.stdout).toMatch(/voted: agent-0 approve, agent-1 approve/);
    expect((await conclave('proposal', 'evidence', 'ship', '--as', '3', ...at)).stdout).toMatch(
      /no evidence on ship/,
    );

    // "quiet" ended at its deadline with agent-2's commitment unrevealed: counted as abstain, and evidence.
    const ended = await conclave('proposal', 'wait', 'quiet', '--as', '3', '--timeout', '20', ...at);
    expectRefused(ended, 1, /proposal quiet ended/);
    expect(ended.stdout).toMatch(/never revealed: agent-2 \(evidence \d+\)/);
    const listed = await conclave('proposal', 'evidence', 'quiet', '--as', '3', ...at);
    expect(listed.stdout).toMatch(/evidence \d+: no_reveal — agent-2 committed and never revealed/);
    const json = lastJson(await conclave('proposal', 'evidence', 'quiet', '--as', '3', ...at, '--json'));
    expect(json.evidence).toEqual([
      expect.objectContaining({ kind: 'no_reveal', agent: 'agent-2', second: null }),
    ]);
  });
});
