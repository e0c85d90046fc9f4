/**
 * What a tool is: a plain definition object (name, words for the model, hints, input schema,
 * handler). Tools are data so that the server registers them all from one list and a test can
 * read them without a cluster.
 */
import type { CoordinationLimits } from '@conclave/coordination';
import type { Coordination } from '@conclave/sdk';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { ToolFailure } from '../errors.ts';
import type { JsonObject } from '../present.ts';
import type { RevealScheduler } from '../reveals.ts';
import type { Fields } from './fields.ts';

/** What every handler works with: the one agent this server signs as, and the cluster's shape. */
export interface ToolContext {
  readonly coordination: Coordination;
  /** The agent id every write is signed as. */
  readonly agent: string;
  /** Replicas n, and how many of them may be Byzantine. */
  readonly replicas: number;
  readonly f: number;
  readonly tickMs: number;
  /** The limits the cluster enforces, which the input schemas are derived from. */
  readonly limits: CoordinationLimits;
  /** Items a listing asks for when the caller does not say: a full page, within the cluster's bound. */
  readonly pageSize: number;
  readonly log: (line: string) => void;
  /** Reveals of sealed ballots this agent committed, sent by the server when the commit phase ends. */
  readonly reveals: RevealScheduler;
}

/** The MCP request a handler serves: its cancellation signal, progress token and notifications. */
export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** One MCP tool. `Shape` is its input schema, built from the limits-derived fields. */
export interface ToolDefinition<Shape extends z.ZodRawShape = z.ZodRawShape> {
  readonly name: string;
  readonly title: string;
  /** A function when the words depend on the agent (e.g. "casts agent-0's ballot"). */
  readonly description: string | ((context: ToolContext) => string);
  readonly annotations: ToolAnnotations;
  /** The input schema; the agent's id may appear in its words. */
  input(fields: Fields, context: ToolContext): Shape;
  /** The tool's work: a JSON object on success; throws on failure (the server turns it into a tool error). */
  run(args: z.output<z.ZodObject<Shape>>, context: ToolContext, extra: Extra): Promise<JsonObject>;
}

/** Checks a definition's handler against its own schema (the identity, typed). */
export const defineTool = <Shape extends z.ZodRawShape>(tool: ToolDefinition<Shape>): ToolDefinition<Shape> =>
  tool;

/** Thrown inside a tool to answer with this failure as it is (input refused before asking the cluster, a wait that ran out). */
export class ToolFailureError extends Error {
  readonly failure: ToolFailure;
  constructor(failure: ToolFailure) {
    super(failure.message);
    this.failure = failure;
  }
}

/** Hints for a read: changes nothing. */
export const READS: ToolAnnotations = { readOnlyHint: true, openWorldHint: false };

/** Hints for a write that changes the replicated state once per call (not idempotent, not destructive). */
export const WRITES: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: false,
};

/** Hints for a write whose repeat with the same arguments is harmless (a duplicate, not a second effect). */
export const IDEMPOTENT_WRITES: ToolAnnotations = { ...WRITES, idempotentHint: true };
