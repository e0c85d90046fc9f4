/**
 * The registry as agents and the council change it: self-service `rotate_key` and `revoke_self`,
 * and governance actions executed on approval, each announced with a `registry_changed` event.
 * Every change is in force from the next sequence: the replicas read the new keys after the
 * batch that made it.
 */
import type { GovernanceAction } from '../governance.ts';
import type { CoordinationResult, ErrorResult } from '../results.ts';
import { type ActionScope, checkRotation, executeAction, removeAgent } from './actions.ts';
import { type DomainContext, fail, present } from './shared.ts';

/** The agent an action is about; null for council changes. */
function subjectOf(action: GovernanceAction, registered: string | undefined): string | null {
  switch (action.kind) {
    case 'register_agent':
      return registered ?? null;
    case 'set_council':
      return null;
    default:
      return action.agent;
  }
}

/** Registry changes, with their events. */
export class RegistryChanges {
  readonly #context: DomainContext;
  readonly #scope: ActionScope;

  constructor(context: DomainContext, scope: ActionScope) {
    this.#context = context;
    this.#scope = scope;
  }

  /** Executes an approved action (re-checked first); announces it, or returns the refusal it met. */
  execute(action: GovernanceAction, proposalId: string, proposer: string): ErrorResult | undefined {
    const before = new Set(this.#scope.agents.registered());
    const refused = executeAction(action, this.#scope);
    if (refused !== undefined) return refused;
    const added = this.#scope.agents.registered().find((id) => !before.has(id));
    this.#announce(action.kind, subjectOf(action, added), proposalId, proposer);
    return undefined;
  }

  /** `rotate_key`: the signer replaces its own key with the one in `joinStatement` (for its id). */
  rotateKey(agent: string, joinStatement: Uint8Array): CoordinationResult {
    // Removed earlier in this sequence: its requests still run until the next, but it has no key to replace.
    if (!this.#scope.agents.has(agent)) return fail('UNKNOWN_AGENT', `${agent} is no longer registered`);
    const checked = checkRotation(agent, joinStatement, this.#scope);
    if (!checked.ok) return checked;
    this.#scope.agents.rotate(agent, checked.statement.publicKey);
    this.#announce('rotate_key', agent, null, agent);
    return this.#agentResult(agent);
  }

  /** `revoke_self`: the signer leaves the registry (and the council, if the rest can still reach its threshold). */
  revokeSelf(agent: string): CoordinationResult {
    if (!this.#scope.agents.has(agent)) return fail('UNKNOWN_AGENT', `${agent} is no longer registered`);
    const refused = this.#scope.council.checkRemoval(agent, 'revoke_self');
    if (refused !== undefined) return refused;
    removeAgent(agent, this.#scope);
    this.#announce('revoke_self', agent, null, agent);
    return this.#agentResult(agent);
  }

  #announce(
    change: GovernanceAction['kind'] | 'rotate_key' | 'revoke_self',
    agent: string | null,
    proposalId: string | null,
    producer: string,
  ): void {
    const effectiveFrom = this.#context.position().sequence + 1;
    this.#context.emit({ kind: 'registry_changed', change, agent, proposalId, effectiveFrom }, producer);
  }

  #agentResult(agent: string): CoordinationResult {
    const view = present(
      this.#scope.agents.view(agent, this.#scope.council.has(agent)),
      `${agent}, just changed, has a record`,
    );
    const at = this.#context.position();
    return { ok: true, kind: 'agent', at, agent: view, effectiveFrom: at.sequence + 1 };
  }
}
