/**
 * Every tool the server offers, in the order clients list them. To add a tool, write its module
 * next to these (a `defineTool({...})`) and add it here; the server registers this list and
 * nothing else.
 */
import { castVote } from './cast-vote.ts';
import { claimTask } from './claim-task.ts';
import { clusterInfo } from './cluster-info.ts';
import { completeTask } from './complete-task.ts';
import { createTask } from './create-task.ts';
import { getCouncil } from './get-council.ts';
import { getDecision } from './get-decision.ts';
import { getQuotaUsage } from './get-quota-usage.ts';
import { kvGet } from './kv-get.ts';
import { kvPut } from './kv-put.ts';
import { listAgents } from './list-agents.ts';
import { listEvidence } from './list-evidence.ts';
import { listProposals } from './list-proposals.ts';
import { listTasks } from './list-tasks.ts';
import { propose } from './propose.ts';
import { proposeAction } from './propose-action.ts';
import type { ToolDefinition } from './tool.ts';
import { verifyReceipt } from './verify-receipt.ts';
import { waitForDecision } from './wait-for-decision.ts';

export const TOOLS: readonly ToolDefinition[] = [
  clusterInfo,
  propose,
  castVote,
  getDecision,
  waitForDecision,
  listProposals,
  listEvidence,
  verifyReceipt,
  kvGet,
  kvPut,
  createTask,
  claimTask,
  completeTask,
  listTasks,
  listAgents,
  getCouncil,
  getQuotaUsage,
  proposeAction,
];
