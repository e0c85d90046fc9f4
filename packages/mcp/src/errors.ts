/**
 * SDK failures as MCP tool errors: `isError: true`, one line a model can act on, and the code in
 * `structuredContent.error` for programs. A tool never throws: a failure is an answer, and the
 * server keeps serving. A key the replicas refuse (MembershipError) is its code, UNKNOWN_AGENT or
 * REVOKED_KEY; a state machine refusal is REJECTED with the refusal as `reason` (NOT_COUNCIL…).
 */
import { ConclaveError, QuotaError, RejectedError } from '@conclave/sdk';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** What to do about each refusal of the coordination state machine. */
const REJECTION_HINTS: Readonly<Record<string, string>> = {
  NOT_FOUND: 'check the id (list_proposals / list_tasks show what exists)',
  FORBIDDEN:
    'this agent is not a voter, holder or claimant here, or the kv key belongs to another agent who has not granted it (keys under shared/ anyone may write); only the named agents may act',
  QUOTA:
    "this agent's own quota of the named resource is used up; free some (delete keys, release locks, finish tasks) or wait for decided proposals and done tasks to be pruned",
  EXPIRED: 'the deadline or lease has passed; propose again or claim again',
  CLOSED: 'the proposal is already decided; read it with get_decision',
  CONFLICT: 'the id is taken, the lock is held or the task is already claimed or done; read its state first',
  VERSION_MISMATCH: 'the key changed since you read it; kv_get it again and retry with its current version',
  FORGED_BALLOT:
    'a ballot counts only if the agent it names signed it and sent it itself; vote with your own choice instead',
  EQUIVOCATION:
    'this agent already cast (or committed to) a different ballot here; the evidence against it is recorded, do not vote on this proposal again',
  SEALED:
    'the proposal is sealed: cast_vote commits in the commit phase and reveals in the reveal phase; call cast_vote, not a plain vote',
  NOT_SEALED: 'the proposal is an open ballot: cast_vote casts the ballot directly',
  COMMIT_CLOSED:
    "the sealed proposal's commit phase is over; only voters who committed in time can reveal, and this ballot cannot count",
  REVEAL_TOO_EARLY:
    'the commit phase is not over yet; the reveal is scheduled by the server that committed, or call cast_vote again after the commit deadline',
  NO_COMMITMENT:
    'this agent did not commit on the sealed proposal in its commit phase, so it has nothing to reveal',
  REVEAL_MISMATCH:
    'the revealed ballot is not the one committed to: the mismatch is recorded as evidence and this ballot does not count',
  LIMIT: 'a size or count limit was reached; send less (smaller page, shorter text)',
  INVALID: 'a field is out of range or contradicts another; fix the arguments',
  MALFORMED: 'the request could not be decoded; fix the arguments',
  READ_ONLY:
    'this agent is an observer (read-only: it may read, not write or vote), or a write was sent as a read',
  NOT_COUNCIL: 'only council members may propose and vote on governance actions; get_council lists them',
  INVALID_JOIN:
    "the join statement does not decode, is not an agent's, or is not signed by its own key; ask the agent for the file `conclave keygen --agent NAME` wrote",
  AGENT_EXISTS: 'that agent id is registered already; list_agents shows the registry',
  UNKNOWN_AGENT: 'that agent is not registered (or was removed); list_agents shows the registry',
  KEY_IN_USE: "that key is, or was, some agent's; the agent must make a fresh key",
  REGISTRY_FULL: 'the registry holds as many agents as the cluster allows; remove one first',
  INVALID_ACTION:
    'the action would break the governance rules (an empty or unreachable council, a quota above the global one); change it',
};

const CODE_HINTS: Readonly<Record<string, string>> = {
  TIMEOUT:
    'no f+1 matching replica answers in time; the cluster may be down or changing view. Retry, or ask the operator to run `conclave status`',
  ABORTED: 'the call was cancelled; it may still have executed (read the state before retrying a write)',
  NO_QUORUM:
    'too few replicas reachable, or replicas disagree right now (mid-write); retry in a moment, or read with consistency "linearizable"',
  INVALID_SIGNATURE:
    'more than f replicas sent answers that fail authentication; the cluster keys may be wrong',
  INVALID_RECEIPT: 'a receipt did not verify against the cluster keys; do not trust it',
  CLOSED: 'this server lost its connection to the cluster; restart it',
  NOT_CONNECTED: 'this server is not connected to the cluster; restart it',
  INVALID_ARGUMENT: 'fix the arguments',
  EVENTS_LOST: 'events were pruned before they were read; start again from the current state',
  UNKNOWN_AGENT:
    "the replicas do not know this server's agent (never registered, or removed): the council must register it (propose_action register_agent)",
  REVOKED_KEY:
    "this server signs with a key that is no longer in force (rotated or revoked): restart it with the agent's current key file",
};

/** The error's code, its refusal reason when the state machine refused, and a one-line message. */
export interface ToolFailure {
  readonly code: string;
  readonly reason?: string;
  /** QUOTA refusals: the resource whose quota is used up. */
  readonly resource?: string;
  readonly message: string;
}

/** Any thrown value as a failure with a stable code and a one-line, actionable message. */
export function failureOf(error: unknown): ToolFailure {
  if (error instanceof RejectedError) {
    const hint = REJECTION_HINTS[error.reason];
    return {
      // Every refusal is REJECTED here (QUOTA and FORBIDDEN included); `reason` says which.
      code: 'REJECTED',
      reason: error.reason,
      ...(error instanceof QuotaError ? { resource: error.resource } : {}),
      message: oneLine(
        `REJECTED (${error.reason}): ${error.message}${hint === undefined ? '' : ` — ${hint}`}`,
      ),
    };
  }
  if (error instanceof ConclaveError) {
    const hint = CODE_HINTS[error.code];
    return {
      code: error.code,
      message: oneLine(`${error.code}: ${error.message}${hint === undefined ? '' : ` — ${hint}`}`),
    };
  }
  const text = error instanceof Error ? error.message : String(error);
  return { code: 'INTERNAL', message: oneLine(`INTERNAL: ${text} — this is a bug in the server; report it`) };
}

/** An MCP tool error result for a failure. */
export function toolError(failure: ToolFailure): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: failure.message }],
    structuredContent: {
      error: {
        code: failure.code,
        ...(failure.reason === undefined ? {} : { reason: failure.reason }),
        message: failure.message,
      },
    },
  };
}

/** A failure of the caller's input that the server finds before asking the cluster. */
export function invalidArgument(message: string): ToolFailure {
  return { code: 'INVALID_ARGUMENT', message: oneLine(`INVALID_ARGUMENT: ${message}`) };
}

const MESSAGE_CHARS_MAX = 500;

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MESSAGE_CHARS_MAX ? `${line.slice(0, MESSAGE_CHARS_MAX - 1)}…` : line;
}
