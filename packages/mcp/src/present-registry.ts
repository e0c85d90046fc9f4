/**
 * How the agent registry, the council and governance actions look to a model: keys in hex (as
 * join statements and cluster.json have them), a join statement as the agent id and key it
 * carries, key history as intervals of log sequences.
 */
import {
  type ActionOutcome,
  type AgentView,
  actionToJson,
  agentToJson,
  type CouncilView,
  type GovernanceAction,
} from '@conclave/coordination';
import type { JsonObject } from './present.ts';

/** An action as a model reads it: a join statement as its agent id and public key. */
export const actionForModel = (action: GovernanceAction): JsonObject => actionToJson(action) as JsonObject;

/** What an action proposal carries and what became of it; nothing for an ordinary proposal. */
export function actionFieldsForModel(
  action: GovernanceAction | null,
  outcome: ActionOutcome | null,
): JsonObject {
  if (action === null) return {};
  return { action: actionForModel(action), actionOutcome: outcome };
}

/** An agent record for the model: the same JSON shape the CLI prints. */
export const agentForModel = (agent: AgentView): JsonObject => agentToJson(agent) as unknown as JsonObject;

export function councilForModel(council: CouncilView, agents: readonly AgentView[]): JsonObject {
  const weightOf = (id: string) => agents.find((a) => a.id === id)?.weight ?? 1;
  const members = council.members.map((id) => ({ agent: id, weight: weightOf(id) }));
  return {
    members,
    threshold: council.threshold,
    totalWeight: members.reduce((sum, m) => sum + m.weight, 0),
  };
}
