/**
 * `conclave proposal vote ID CHOICE`: on an open proposal, casts the signed ballot; on a sealed
 * one, commits, waits for the commit deadline and reveals, saying each step (`--commit-only` and
 * `--reveal` do one half each). The salt is derived from the agent's key, so the two halves can
 * run in different processes, and a vote interrupted after its commit is finished by running
 * it again with the same choice and `--reason`.
 */
import type { Choice, ProposalView } from '@conclave/coordination';
import { encodeReceipt, toHex } from '@conclave/core';
import type { CommitResult, Coordination, VoteResult } from '@conclave/sdk';
import { actingAgent, asAgent, noMoreThan } from './agent-session.ts';
import { integer, print, requireString, UsageError, type Values } from './args.ts';
import { proposalJson, proposalLines } from './governance-view.ts';

const CHOICES = ['approve', 'reject', 'abstain'] as const;

export async function vote(args: readonly string[], values: Values): Promise<number> {
  noMoreThan(args, 2);
  const proposalId = requireString(args[0], 'a proposal ID (proposal vote ID approve|reject|abstain)');
  const choice = args[1] as Choice;
  if (!CHOICES.includes(choice as (typeof CHOICES)[number]))
    throw new UsageError(`proposal vote takes ${CHOICES.join(', ')} after the ID`);
  if (values['commit-only'] === true && values.reveal === true)
    throw new UsageError('give --commit-only or --reveal, not both');
  const reason = typeof values.reason === 'string' ? values.reason : '';
  if (values['commit-only'] === true) return commitOnly(proposalId, choice, reason, values);
  const say = values.json ? () => undefined : print;
  const { result, view } = await asAgent(values, async (c) => {
    const result =
      values.reveal === true
        ? await c.reveal(proposalId, choice, { reason })
        : await c.vote(proposalId, choice, {
            reason,
            onCommitted: (commit) => {
              say(committedLine(proposalId, commit));
              say(`waiting for the commit deadline ${commit.proposal.sealed?.commitDeadline} to reveal…`);
            },
            ...(values.timeout === undefined
              ? {}
              : { revealTimeoutMs: integer(values.timeout, '--timeout') * 1000 }),
          });
    return { result, view: await c.decision(proposalId) };
  });
  printVote(result, view, choice, values);
  return 0;
}

function committedLine(proposalId: string, commit: CommitResult): string {
  const already = commit.duplicate ? 'already committed' : 'committed';
  return `${already} on ${proposalId} at sequence ${commit.sequence} (a seal: the choice stays secret until the reveal)`;
}

function printVote(result: VoteResult, view: ProposalView, choice: Choice, values: Values): void {
  const receipt = toHex(encodeReceipt(result.receipt));
  if (values.json) {
    const commit = result.sealed?.commit ?? null;
    const sealed =
      result.sealed === null
        ? null
        : {
            commitSequence: commit?.sequence ?? null,
            commitDuplicate: commit?.duplicate ?? null,
            commitReceipt: commit === null ? null : toHex(encodeReceipt(commit.receipt)),
          };
    print(
      JSON.stringify({
        ...proposalJson(view),
        sequence: result.sequence,
        requestId: result.requestId,
        duplicate: result.duplicate,
        receipt,
        sealed,
      }),
    );
    return;
  }
  const verb = result.sealed === null ? 'voted' : 'revealed';
  const done = result.duplicate ? `already ${verb}` : verb;
  print(`${done} ${choice} on ${view.proposalId} at sequence ${result.sequence}`);
  for (const line of proposalLines(view)) print(line);
  print(`receipt: ${receipt}`);
}

/** The first half of a sealed vote: the commitment only; `--reveal` does the second. */
async function commitOnly(
  proposalId: string,
  choice: Choice,
  reason: string,
  values: Values,
): Promise<number> {
  const commit = await asAgent(values, (c: Coordination) => c.commit(proposalId, choice, { reason }));
  const commitDeadline = commit.proposal.sealed?.commitDeadline ?? null;
  if (values.json) {
    print(
      JSON.stringify({
        proposalId,
        phase: commit.proposal.phase,
        commitDeadline,
        deadline: commit.proposal.deadline,
        sequence: commit.sequence,
        duplicate: commit.duplicate,
        receipt: toHex(encodeReceipt(commit.receipt)),
      }),
    );
    return 0;
  }
  print(committedLine(proposalId, commit));
  const again = reason === '' ? '' : ` --reason ${JSON.stringify(reason)}`;
  print(
    `  reveal from agreed time ${commitDeadline} until ${commit.proposal.deadline}, with the same choice and reason:`,
  );
  print(
    `  conclave proposal vote ${proposalId} ${choice}${again} --reveal --as ${actingAgent(values)} --dir ${String(values.dir)}`,
  );
  return 0;
}
