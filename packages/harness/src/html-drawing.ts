/**
 * What a run's picture shows (see html.ts), decided before anything is drawn: the first
 * violation and what it names, and which message arrows fit under the cap.
 */
import type { ByzantinePlan } from './byzantine.ts';
import type { Violation } from './checkers.ts';
import { DiagramLayout, typeClass } from './html-layout.ts';
import type { Address } from './network.ts';
import type { ScenarioShape } from './scenario.ts';
import type { ScenarioOptions, ScenarioResult } from './scenario-options.ts';
import type { RunTrace, TracedDeliver, TracedSend } from './trace.ts';

/** Message arrows drawn at most; past it they are thinned evenly, per type, away from the first violation. */
export const HTML_ARROWS_MAX = 6000;
/** Ticks before and after the first violation whose arrows are always drawn. */
export const VIOLATION_WINDOW_TICKS_BEFORE = 60;
export const VIOLATION_WINDOW_TICKS_AFTER = 10;

export interface RenderOptions {
  readonly arrowsMax?: number;
  /** The shape the seed was run with, for the replay command; derived from the options if absent. */
  readonly shape?: ScenarioShape;
}

/** A message copy as drawn, from `t1` (sent) to `t2` (delivered; for a stub, `t1` again). */
interface ArrowBase {
  readonly send: TracedSend;
  /** The message type's name, or `other`: it picks the colour. */
  readonly type: string;
  readonly t1: number;
  readonly t2: number;
}
export interface DeliveredArrow extends ArrowBase {
  readonly kind: 'delivered';
  readonly deliver: TracedDeliver;
}
export interface UndeliveredArrow extends ArrowBase {
  readonly kind: 'dropped' | 'lost';
}
export type Arrow = DeliveredArrow | UndeliveredArrow;

/** The earliest violation by tick (list order breaks ties; untimed ones come last). */
export function firstViolation(violations: readonly Violation[]): Violation | undefined {
  let first: Violation | undefined;
  for (const violation of violations) {
    if (first === undefined) first = violation;
    else if (violation.tick !== undefined && (first.tick === undefined || violation.tick < first.tick))
      first = violation;
  }
  return first;
}

/** The replicas and agents a violation message names. */
export function namedNodes(message: string, nodes: readonly Address[]): Set<Address> {
  const named = new Set<Address>();
  for (const match of message.matchAll(/\b(?:replicas?|Byzantine)\s+(\d+)((?:\s*(?:,|and)\s*\d+)*)/g)) {
    named.add(Number(match[1]));
    for (const more of (match[2] ?? '').matchAll(/\d+/g)) named.add(Number(more[0]));
  }
  for (const node of nodes) {
    if (typeof node !== 'string') continue;
    const pattern = new RegExp(`(^|[^\\w-])${node.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`);
    if (pattern.test(message)) named.add(node);
  }
  return named;
}

function shapeOf(options: ScenarioOptions): ScenarioShape {
  return {
    replicas: options.replicas,
    byzantine: options.byzantine.length,
    agents: options.agents,
    requests: options.requestsPerAgent,
  };
}

/** Picks the arrows to draw: all near the first violation, then an even share per type. */
function thinArrows(arrows: readonly Arrow[], arrowsMax: number, focusTick: number | undefined): Arrow[] {
  if (arrows.length <= arrowsMax) return [...arrows];
  const near = (arrow: Arrow) =>
    focusTick !== undefined &&
    arrow.t2 >= focusTick - VIOLATION_WINDOW_TICKS_BEFORE &&
    arrow.t1 <= focusTick + VIOLATION_WINDOW_TICKS_AFTER;
  let kept = arrows.filter(near);
  if (kept.length > arrowsMax) {
    const distance = (arrow: Arrow) => Math.abs(arrow.t2 - (focusTick ?? 0));
    kept = [...kept].sort((a, b) => distance(a) - distance(b)).slice(0, arrowsMax);
  }
  const byType = new Map<string, Arrow[]>();
  for (const arrow of arrows) {
    if (near(arrow)) continue;
    let list = byType.get(arrow.type);
    if (list === undefined) {
      list = [];
      byType.set(arrow.type, list);
    }
    list.push(arrow);
  }
  // Water-filling: rare types (view changes, state transfer) keep all their arrows.
  let budget = arrowsMax - kept.length;
  const types = [...byType.values()].sort((a, b) => a.length - b.length);
  types.forEach((list, i) => {
    const share = Math.floor(budget / (types.length - i));
    const take = Math.min(list.length, share);
    for (let k = 0; k < take; k++) kept.push(list[Math.floor((k * list.length) / take)] as Arrow);
    budget -= take;
  });
  return kept.sort((a, b) => a.send.index - b.send.index || a.t2 - b.t2);
}

/** The first violation, which the picture draws attention to. */
export interface ViolationFocus {
  readonly violation: Violation;
  /** Its tick; the end of the run for a violation only found there. */
  readonly tick: number;
  /** The nodes its message names: their lanes and labels are outlined. */
  readonly nodes: ReadonlySet<Address>;
  /** The sequence number its message names, as written there: its executions are marked. */
  readonly sequence: string | undefined;
}

function violationFocus(
  violations: readonly Violation[],
  nodes: readonly Address[],
  endTick: number,
): ViolationFocus | undefined {
  const violation = firstViolation(violations);
  if (violation === undefined) return undefined;
  return {
    violation,
    tick: violation.tick ?? endTick,
    nodes: namedNodes(violation.message, nodes),
    sequence: /\bsequence (\d+)/.exec(violation.message)?.[1],
  };
}

/** Whether the first violation names this node. */
export function isNamed(focus: ViolationFocus | undefined, node: Address): boolean {
  return focus?.nodes.has(node) ?? false;
}

/** Whether an execution is of the sequence the first violation names, by a node it names (any node if it names none). */
export function isCulpritExecution(
  focus: ViolationFocus | undefined,
  node: Address,
  sequence: number,
): boolean {
  if (focus === undefined || (focus.nodes.size > 0 && !focus.nodes.has(node))) return false;
  return focus.sequence !== undefined && String(sequence) === focus.sequence;
}

/** One arrow per delivered copy of a message, one stub per dropped or lost copy. */
function messageArrows(trace: RunTrace): Arrow[] {
  const arrows: Arrow[] = [];
  for (const event of trace.events) {
    if (event.kind !== 'send') continue;
    const type = typeClass(event.message.name);
    for (const index of event.deliveries) {
      const deliver = trace.events[index];
      if (deliver?.kind !== 'deliver') throw new Error(`trace: delivery ${index} is not a deliver event`);
      arrows.push({ kind: 'delivered', send: event, deliver, type, t1: event.tick, t2: deliver.tick });
    }
    if (event.outcome === 'dropped' || event.outcome === 'partitioned' || event.outcome === 'overflow')
      arrows.push({ kind: 'dropped', send: event, type, t1: event.tick, t2: event.tick });
    for (let i = 0; i < event.lost; i++)
      arrows.push({ kind: 'lost', send: event, type, t1: event.tick, t2: event.tick });
  }
  return arrows;
}

/** The arrows a picture draws, out of how many there were, under which cap (the page says so). */
export interface ArrowSelection {
  readonly drawn: readonly Arrow[];
  readonly total: number;
  readonly max: number;
}

function selectArrows(trace: RunTrace, arrowsMax: number, focusTick: number | undefined): ArrowSelection {
  const arrows = messageArrows(trace);
  return { drawn: thinArrows(arrows, arrowsMax, focusTick), total: arrows.length, max: arrowsMax };
}

/** Everything the sections of the picture read: the run, where marks go, and what to stress. */
export interface Drawing {
  readonly trace: RunTrace;
  readonly result: ScenarioResult;
  readonly options: ScenarioOptions;
  /** For the replay command. */
  readonly shape: ScenarioShape;
  readonly layout: DiagramLayout;
  readonly byzantinePlans: ReadonlyMap<Address, ByzantinePlan>;
  readonly focus: ViolationFocus | undefined;
  readonly arrows: ArrowSelection;
}

export function drawingOf(trace: RunTrace, result: ScenarioResult, render: RenderOptions): Drawing {
  const options = result.options;
  // At least 1: the layout's scale divides by it.
  const endTick = Math.max(1, result.record.endTick, ...trace.events.map((event) => event.tick));
  const focus = violationFocus(result.violations, trace.nodes, endTick);
  return {
    trace,
    result,
    options,
    shape: render.shape ?? shapeOf(options),
    layout: new DiagramLayout(trace.nodes, endTick),
    byzantinePlans: new Map(options.byzantine.map((plan) => [plan.id, plan] as const)),
    focus,
    arrows: selectArrows(trace, render.arrowsMax ?? HTML_ARROWS_MAX, focus?.tick),
  };
}

/** `[checker @tick]`, as violations are listed. */
export function violationTag(violation: Violation): string {
  return `[${violation.checker}${violation.tick === undefined ? '' : ` @${violation.tick}`}]`;
}
