/**
 * How the agent registry, the council and proposals look on the command line: JSON (keys in
 * hex, as cluster.json and join statements have them) and short text lines.
 */
import {
  type ActionOutcome,
  type AgentUsageView,
  type AgentView,
  actionToJson,
  agentToJson,
  type CouncilView,
  type Evidence,
  type GovernanceAction,
  type ProposalView,
  QUOTA_LIMIT_NAMES,
  type QuotaLimitName,
} from '@conclave/coordination';
import { toHex } from '@conclave/core';

type Json = { [key: string]: unknown };

/** An action with its join statement decoded (id and key), not as bytes (shared with the MCP server). */
export const actionJson = (action: GovernanceAction): Json => actionToJson(action);

/** One line: what the action does. */
export function actionText(action: GovernanceAction): string {
  const json = actionJson(action);
  const key = typeof json.publicKey === 'string' ? ` key ${json.publicKey.slice(0, 16)}…` : '';
  switch (action.kind) {
    case 'register_agent':
      return `register ${action.observer === true ? 'observer (read-only)' : 'agent'} ${String(json.agent)}${key} (weight ${action.weight}${quotasText(action.quotas)})`;
    case 'remove_agent':
      return `remove agent ${action.agent}`;
    case 'rotate_agent_key':
      return `rotate agent ${action.agent}'s key to${key}`;
    case 'set_agent_weight':
      return `set agent ${action.agent}'s weight to ${action.weight}`;
    case 'set_agent_quotas':
      return `set agent ${action.agent}'s quotas to {${quotasText(action.quotas).slice(2)}}`;
    case 'set_council':
      return `set the council to ${action.members.join(', ')} with threshold ${action.threshold}`;
  }
}

function quotasText(quotas: Readonly<Record<string, number | undefined>>): string {
  const pairs = Object.entries(quotas).map(([name, value]) => `${name}=${value}`);
  return pairs.length === 0 ? '' : `, ${pairs.join(', ')}`;
}

export function outcomeText(outcome: ActionOutcome | null): string {
  if (outcome === null) return 'not executed (yet)';
  if (outcome.status === 'executed') return `executed at sequence ${outcome.at.sequence}`;
  return `failed (${outcome.code}): ${outcome.message}`;
}

export function proposalJson(view: ProposalView): Json {
  return {
    proposalId: view.proposalId,
    title: view.title,
    proposer: view.proposer,
    status: view.status,
    phase: view.phase,
    deadline: view.deadline,
    decidedAt: view.decidedAt,
    sealed: view.sealed,
    tally: {
      approve: view.tally.approve,
      reject: view.tally.reject,
      abstain: view.tally.abstain,
      pending: view.tally.pending,
      counted: view.tally.counted.map((b) => ({ agent: b.agent, weight: b.weight, choice: b.choice })),
      excluded: view.tally.excluded.map((e) => e.agent),
      exclusions: view.tally.excluded.map(({ agent, reason, evidenceId }) => ({ agent, reason, evidenceId })),
      committed: view.tally.committed,
      unrevealed: view.tally.unrevealed,
    },
    action: view.action === null ? null : actionJson(view.action),
    actionOutcome: view.actionOutcome,
  };
}

export function proposalLines(view: ProposalView): string[] {
  const t = view.tally;
  const weight = (c: { count: number; weight: number }) => `${c.count} (weight ${c.weight})`;
  const action = view.action === null ? undefined : actionText(view.action);
  const title = view.title === '' || view.title === action ? '' : ` — ${view.title}`;
  const phase = view.phase === 'commit' || view.phase === 'reveal' ? ` (${view.phase} phase)` : '';
  return [
    `proposal ${view.proposalId}: ${view.status}${phase}${title}`,
    ...(action === undefined ? [] : [`  action: ${action}`]),
    ...sealedLines(view),
    `  approve ${weight(t.approve)}, reject ${weight(t.reject)}, abstain ${weight(t.abstain)}, pending ${weight(t.pending)}`,
    ...(t.counted.length === 0
      ? []
      : [`  voted: ${t.counted.map((b) => `${b.agent} ${String(b.choice)}`).join(', ')}`]),
    ...(t.excluded.length === 0
      ? []
      : [
          `  excluded: ${t.excluded.map((e) => `${e.agent} (${e.reason}${evidenceRef(e.evidenceId)})`).join(', ')}`,
        ]),
    `  proposed by ${view.proposer}, deadline ${view.deadline}`,
    ...(view.action === null || view.status !== 'approved'
      ? []
      : [`  outcome: ${outcomeText(view.actionOutcome)}`]),
  ];
}

const evidenceRef = (id: number | null) => (id === null ? '' : `, evidence ${id}`);
const names = (agents: readonly string[]) => (agents.length === 0 ? 'none' : agents.join(', '));

/** A sealed proposal: its commit deadline, who committed and revealed, and who did not reveal. */
function sealedLines(view: ProposalView): string[] {
  const sealed = view.sealed;
  if (sealed === null) return [];
  const unrevealed = sealed.committed.filter((a) => !sealed.revealed.includes(a));
  const missing = view.tally.unrevealed;
  return [
    `  sealed: commit until ${sealed.commitDeadline}, reveal until ${view.deadline}; a missing reveal counts as ${sealed.missingReveal}`,
    `  committed: ${names(sealed.committed)}; revealed: ${names(sealed.revealed)}`,
    ...(view.phase === 'reveal' ? [`  not revealed yet: ${names(unrevealed)}`] : []),
    ...(missing.length === 0
      ? []
      : [
          `  never revealed: ${missing.map((u) => `${u.agent}${u.evidenceId === null ? '' : ` (evidence ${u.evidenceId})`}`).join(', ')}`,
        ]),
  ];
}

/** Evidence as JSON: signed objects and keys in hex. */
export function evidenceJson(evidence: Evidence): Json {
  const signed = (o: { bytes: Uint8Array; signature: Uint8Array } | null) =>
    o === null ? null : { bytes: toHex(o.bytes), signature: toHex(o.signature) };
  return {
    ...evidence,
    first: signed(evidence.first),
    second: signed(evidence.second),
    keys: evidence.keys.map(toHex),
    ...('salt' in evidence ? { salt: toHex(evidence.salt) } : {}),
  };
}

/** One line: what the agent was caught at. */
export function evidenceLine(evidence: Evidence): string {
  const what: Record<Evidence['kind'], string> = {
    ballot: 'signed two different ballots',
    request: 'sent two different requests under one id',
    commitment: 'signed two different commitments',
    reveal_mismatch: 'revealed a ballot its commitment does not seal',
    no_reveal: 'committed and never revealed',
  };
  return `evidence ${evidence.id}: ${evidence.kind} — ${evidence.agent} ${what[evidence.kind]} (at sequence ${evidence.recordedAt.sequence})`;
}

/** An agent record as JSON: the shape `--json` prints (shared with the MCP server). */
export const agentJson = (agent: AgentView): Json => agentToJson(agent) as unknown as Json;

/** Short names of the quotas, in `QUOTA_LIMIT_NAMES` order. */
const QUOTA_WORDS: Readonly<Record<QuotaLimitName, string>> = {
  claimsPerAgentMax: 'claims',
  eventsPerAgentMax: 'events',
  eventsPerWindowPerAgentMax: 'events/window',
  kvBytesPerAgentMax: 'kv bytes',
  kvKeysPerAgentMax: 'kv keys',
  locksPerAgentMax: 'locks',
  openProposalsPerAgentMax: 'open proposals',
  retainedProposalsPerAgentMax: 'kept proposals',
  tasksPerAgentMax: 'tasks',
};

/** `agent  kv keys 2/64, …`: used/limit of each quota, with a `!` where the agent is at its limit. */
export function usageLine(usage: AgentUsageView): string {
  const parts = QUOTA_LIMIT_NAMES.map((name) => {
    const full = usage.used[name] >= usage.limits[name] ? '!' : '';
    return `${QUOTA_WORDS[name]} ${usage.used[name]}/${usage.limits[name]}${full}`;
  });
  return `${usage.agent}  ${parts.join(', ')}`;
}

/** The agent's line, then one per key: `[from, until)` in log sequences. */
export function agentLines(agent: AgentView): string[] {
  const quotas = quotasText(agent.quotas);
  const marks = [
    agent.council ? 'council' : '',
    agent.observer ? 'observer (read-only)' : '',
    agent.removed ? 'removed' : '',
    `weight ${agent.weight}`,
    quotas === '' ? '' : `quotas ${quotas.slice(2)}`,
  ];
  return [
    `${agent.id}  ${marks.filter((m) => m !== '').join(', ')}`,
    ...agent.keys.map(
      (k) =>
        `  key ${toHex(k.publicKey).slice(0, 16)}…  ${k.until === null ? `from sequence ${k.from} (current)` : `sequences [${k.from}, ${k.until})`}`,
    ),
  ];
}

export function councilLines(council: CouncilView, agents: readonly AgentView[]): string[] {
  const weightOf = (id: string) => agents.find((a) => a.id === id)?.weight ?? 1;
  const total = council.members.reduce((sum, m) => sum + weightOf(m), 0);
  return [
    `council: ${council.members.length} members, total weight ${total}; an action needs approving weight ${council.threshold}`,
    ...council.members.map((m) => `  ${m} (weight ${weightOf(m)})`),
  ];
}
