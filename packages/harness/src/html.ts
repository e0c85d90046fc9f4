/**
 * A picture of one run: a self-contained HTML page with a space-time diagram (inline SVG, a
 * little inline CSS and JS, no external resources), so a person can see why a run failed.
 *
 * One horizontal line per replica and per agent, virtual ticks left to right, an arrow per
 * delivered message coloured by type, dropped copies as short dashed stubs, views as shaded
 * bands, executions as numbered dots, partitions shaded per side, and the first violation (the
 * earliest by tick) as a red line with the nodes it names highlighted. Every mark's tooltip gives
 * its Lamport and vector timestamps. Long runs stay usable: the page zooms and scrolls, and
 * beyond `HTML_ARROWS_MAX` arrows are thinned (the page says so), never near the first violation.
 */
import { quorumsOf } from '@conclave/core';
import type { ByzantinePlan } from './byzantine.ts';
import type { Violation } from './checkers.ts';
import type { Address, Partition } from './network.ts';
import { replayCommand, type ScenarioShape } from './scenario.ts';
import type { ScenarioOptions, ScenarioResult } from './scenario-options.ts';
import { runScenario } from './simulation.ts';
import {
  describeMessage,
  type NodeEvent,
  nodeName,
  type RunTrace,
  type TracedDeliver,
  type TracedSend,
  traceCollector,
  traceNodes,
} from './trace.ts';

/** Message arrows drawn at most; past it they are thinned evenly, per type, away from the first violation. */
export const HTML_ARROWS_MAX = 6000;
/** Ticks before and after the first violation whose arrows are always drawn. */
export const VIOLATION_WINDOW_TICKS_BEFORE = 60;
export const VIOLATION_WINDOW_TICKS_AFTER = 10;
/** Vector components listed in full in a tooltip at most; larger vectors list non-zero ones. */
const VECTOR_FULL_COMPONENTS_MAX = 16;

const LANE_HEIGHT_PX = 46;
const TOP_PX = 64;
const BOTTOM_PX = 24;
const LEFT_PX = 12;
const RIGHT_PX = 40;
const FIT_WIDTH_PX = 1400;
const SCALE_MIN_PX_PER_TICK = 1.5;
const SCALE_MAX_PX_PER_TICK = 14;
/** Length of a dropped message's stub, in pixels (it does not stretch with zoom). */
const STUB_PX = 14;
/** Gap between a view band and its lane's top and bottom edges. */
const VIEW_BAND_MARGIN_PX = 3;
const VIEW_BAND_HEIGHT_PX = LANE_HEIGHT_PX - 2 * VIEW_BAND_MARGIN_PX;
/** Height of the strip under a lane that marks its side of a partition. */
const PARTITION_STRIP_PX = 5;

/** Colours by message type; the legend lists them in this order. */
const TYPE_COLOURS: readonly (readonly [name: string, colour: string, group: string])[] = [
  ['request', '#1f77b4', 'request'],
  ['pre-prepare', '#9467bd', 'pre-prepare'],
  ['prepare', '#2ca02c', 'prepare'],
  ['commit', '#ff7f0e', 'commit'],
  ['reply', '#17becf', 'reply'],
  ['checkpoint', '#8c564b', 'checkpoint'],
  ['view-change', '#d62728', 'view change'],
  ['new-view', '#e377c2', 'view change'],
  ['fetch-state', '#7f7f7f', 'state transfer'],
  ['state', '#bcbd22', 'state transfer'],
  ['fetch-committed', '#637939', 'state transfer'],
  ['committed', '#393b79', 'state transfer'],
  ['query', '#aaaaaa', 'other'],
  ['query-reply', '#aaaaaa', 'other'],
  ['fetch-receipt', '#aaaaaa', 'other'],
  ['receipt', '#aaaaaa', 'other'],
  ['junk', '#000000', 'junk (flood)'],
  ['other', '#555555', 'other'],
];
const KNOWN_TYPES = new Set(TYPE_COLOURS.map(([name]) => name));
const VIEW_FILLS = ['#e8eefc', '#fcefe3', '#e6f6ea', '#f6e6f3', '#fbf7dc', '#e3f4f6'];

/**
 * Where marks go: ticks to x at one scale chosen so a typical run fits a screen, nodes to lanes
 * in trace order. The page's script redoes the x mapping when the reader zooms (see `data-t`).
 */
class DiagramLayout {
  readonly nodes: readonly Address[];
  readonly endTick: number;
  readonly scalePxPerTick: number;
  readonly heightPx: number;
  readonly widthPx: number;
  readonly #laneIndex: ReadonlyMap<Address, number>;

  constructor(nodes: readonly Address[], endTick: number) {
    this.nodes = nodes;
    this.endTick = endTick;
    this.#laneIndex = new Map(nodes.map((node, i) => [node, i] as const));
    this.scalePxPerTick = Math.min(
      SCALE_MAX_PX_PER_TICK,
      Math.max(SCALE_MIN_PX_PER_TICK, FIT_WIDTH_PX / endTick),
    );
    this.heightPx = TOP_PX + nodes.length * LANE_HEIGHT_PX + BOTTOM_PX;
    this.widthPx = this.xPx(endTick) + RIGHT_PX;
  }

  hasLane(node: Address): boolean {
    return this.#laneIndex.has(node);
  }

  xPx(tick: number): number {
    return LEFT_PX + tick * this.scalePxPerTick;
  }

  /** A node without a lane of its own is drawn on the first lane. */
  laneMidYPx(node: Address): number {
    return TOP_PX + (this.#laneIndex.get(node) ?? 0) * LANE_HEIGHT_PX + LANE_HEIGHT_PX / 2;
  }

  laneTopYPx(node: Address): number {
    return this.laneMidYPx(node) - LANE_HEIGHT_PX / 2;
  }

  /** Where lines that span every lane (the first violation, the heal) end. */
  get lanesBottomPx(): number {
    return this.heightPx - BOTTOM_PX;
  }

  /** An event's Lamport and vector timestamps; big vectors list only their non-zero components. */
  describeClocks(event: NodeEvent): string {
    const parts: string[] = [];
    this.nodes.forEach((node, i) => {
      const value = event.vector[i] ?? 0;
      if (this.nodes.length <= VECTOR_FULL_COMPONENTS_MAX || value > 0)
        parts.push(`${nodeName(node)}:${value}`);
    });
    return `Lamport ${event.lamport}, vector [${parts.join(' ')}]`;
  }
}

/** A number as written into the SVG: integers as they are, others to a tenth of a pixel. */
function svgNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** Runs a scenario with a trace collector attached. */
export function traceRun(
  options: ScenarioOptions,
  eventsMax?: number,
): { readonly result: ScenarioResult; readonly trace: RunTrace } {
  const collector = traceCollector({
    nodes: traceNodes(options),
    ...(eventsMax === undefined ? {} : { eventsMax }),
  });
  const result = runScenario(options, { trace: collector.sink });
  return { result, trace: collector.finish() };
}

export interface RenderOptions {
  readonly arrowsMax?: number;
  /** The shape the seed was run with, for the replay command; derived from the options if absent. */
  readonly shape?: ScenarioShape;
}

/** A message copy as drawn, from `t1` (sent) to `t2` (delivered; sent again for a stub). */
interface ArrowBase {
  readonly send: TracedSend;
  /** The message type's name, or `other`: it picks the colour. */
  readonly type: string;
  readonly t1: number;
  readonly t2: number;
}
interface DeliveredArrow extends ArrowBase {
  readonly kind: 'delivered';
  readonly deliver: TracedDeliver;
}
interface UndeliveredArrow extends ArrowBase {
  readonly kind: 'dropped' | 'lost';
}
type Arrow = DeliveredArrow | UndeliveredArrow;

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

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

function typeClass(name: string): string {
  return KNOWN_TYPES.has(name) ? name : 'other';
}

/** Ticks between grid lines: the first round step at least 70 px wide (the page's script agrees). */
function gridStepTicks(scalePxPerTick: number): number {
  for (const step of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000]) {
    if (step * scalePxPerTick >= 70) return step;
  }
  return 50_000;
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
interface ViolationFocus {
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
function isNamed(focus: ViolationFocus | undefined, node: Address): boolean {
  return focus?.nodes.has(node) ?? false;
}

/**
 * Whether an execution is of the sequence the first violation names, by a node it names (any
 * node when it names none, as when it blames the sequence rather than a replica).
 */
function isCulpritExecution(focus: ViolationFocus | undefined, node: Address, sequence: number): boolean {
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
interface ArrowSelection {
  readonly drawn: readonly Arrow[];
  readonly total: number;
  readonly max: number;
}

function selectArrows(trace: RunTrace, arrowsMax: number, focusTick: number | undefined): ArrowSelection {
  const arrows = messageArrows(trace);
  return { drawn: thinArrows(arrows, arrowsMax, focusTick), total: arrows.length, max: arrowsMax };
}

/** Everything the sections of the picture read: the run, where marks go, and what to stress. */
interface Drawing {
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

function drawingOf(trace: RunTrace, result: ScenarioResult, render: RenderOptions): Drawing {
  const options = result.options;
  // The trace can outlast the record's end (events of the final tick), never the other way round.
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

// ---------------------------------------------------------------------------------------------
// The SVG, bottom layer first: each section is one group, or undefined when it has nothing to draw.

/** Arrowheads per message type, the × that ends a dropped copy, and the hatch of a view change. */
function markerDefs(): string {
  const defs = TYPE_COLOURS.map(
    ([name, colour]) =>
      `<marker id="ah-${name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,1L10,5L0,9z" fill="${colour}"/></marker>`,
  );
  defs.push(
    '<marker id="ah-x" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="6" markerHeight="6"><path d="M1,1L9,9M9,1L1,9" stroke="#d44" stroke-width="2"/></marker>',
    '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff3f3"/><line x1="0" y1="0" x2="0" y2="6" stroke="#e7a0a0" stroke-width="2"/></pattern>',
  );
  return `<defs>${defs.join('')}</defs>`;
}

/** A Byzantine replica's lane, or a lying agent's (`mallory-*`, see `traceNodes`). */
function isByzantineLane({ byzantinePlans }: Drawing, node: Address): boolean {
  return typeof node === 'number' ? byzantinePlans.has(node) : node.startsWith('mallory');
}

/** Byzantine lanes tinted, lanes the first violation names outlined. */
function laneBackgrounds(drawing: Drawing): string {
  const { layout, focus } = drawing;
  const { endTick } = layout;
  const x = svgNumber(layout.xPx(0));
  const width = svgNumber(layout.xPx(endTick) - layout.xPx(0));
  const rects: string[] = [];
  for (const node of layout.nodes) {
    const top = layout.laneTopYPx(node);
    if (isByzantineLane(drawing, node))
      rects.push(
        `<rect class="lane-bg byz" data-t="0" data-t2="${endTick}" x="${x}" y="${top}" width="${width}" height="${LANE_HEIGHT_PX}"/>`,
      );
    if (isNamed(focus, node))
      rects.push(
        `<rect class="lane-bg named" data-t="0" data-t2="${endTick}" x="${x}" y="${top + 1}" width="${width}" height="${LANE_HEIGHT_PX - 2}"/>`,
      );
  }
  return `<g id="backgrounds">${rects.join('')}</g>`;
}

/** A partition as drawn: named P1, P2… by its place in the options, over before the network heals. */
interface DrawnPartition {
  readonly index: number;
  readonly partition: Partition;
  readonly endTick: number;
  readonly title: string;
}

function drawnPartitions(options: ScenarioOptions): DrawnPartition[] {
  const drawn: DrawnPartition[] = [];
  options.partitions.forEach((partition, index) => {
    const endTick = Math.min(partition.healTick, options.healTick);
    if (partition.startTick >= endTick) return;
    const sides = `{${partition.sideA.map(nodeName).join(', ')}} | {${partition.sideB.map(nodeName).join(', ')}}`;
    const title = `partition P${index + 1} [${partition.startTick}, ${endTick}): ${sides}`;
    drawn.push({ index, partition, endTick, title });
  });
  return drawn;
}

/** Along the bottom of each lane a partition cuts off, a strip coloured by the side it is on. */
function partitionStrips(drawing: Drawing): string {
  const { layout } = drawing;
  const strips: string[] = [];
  for (const { partition, endTick, title } of drawnPartitions(drawing.options)) {
    const x = svgNumber(layout.xPx(partition.startTick));
    const width = svgNumber((endTick - partition.startTick) * layout.scalePxPerTick);
    const sides = [
      ['a', partition.sideA],
      ['b', partition.sideB],
    ] as const;
    for (const [side, members] of sides) {
      for (const node of members) {
        if (!layout.hasLane(node)) continue;
        const y = layout.laneMidYPx(node) + LANE_HEIGHT_PX / 2 - PARTITION_STRIP_PX - 1;
        const stripTitle = `${title}; ${nodeName(node)} on side ${side.toUpperCase()}`;
        strips.push(
          `<rect class="part part-${side}" data-t="${partition.startTick}" data-t2="${endTick}" x="${x}" y="${y}" width="${width}" height="${PARTITION_STRIP_PX}"><title>${escapeHtml(stripTitle)}</title></rect>`,
        );
      }
    }
  }
  return `<g id="partitions">${strips.join('')}</g>`;
}

/** Above the lanes, a labelled bar per partition; two rows, so neighbouring partitions stay apart. */
function partitionBanners(drawing: Drawing): string {
  const { layout } = drawing;
  const marks: string[] = [];
  for (const { index, partition, endTick, title } of drawnPartitions(drawing.options)) {
    const x = svgNumber(layout.xPx(partition.startTick));
    const width = svgNumber((endTick - partition.startTick) * layout.scalePxPerTick);
    const row = index % 2;
    marks.push(
      `<rect class="part-top" data-t="${partition.startTick}" data-t2="${endTick}" x="${x}" y="${14 + row * 12}" width="${width}" height="10"><title>${escapeHtml(title)}</title></rect>`,
      `<text class="part-label" data-t="${partition.startTick}" x="${x}" dx="2" y="${23 + row * 12}">P${index + 1}<title>${escapeHtml(title)}</title></text>`,
    );
  }
  return `<g id="top">${marks.join('')}</g>`;
}

/** A stretch of one honest replica's time in one view, or changing to it. */
interface ViewStretch {
  readonly node: number;
  readonly view: number;
  readonly changing: boolean;
  readonly fromTick: number;
  readonly toTick: number;
  readonly title: string;
}

/** Every honest replica's view stretches, lane by lane; a Byzantine replica's views mean nothing. */
function viewStretches({ trace, layout, byzantinePlans }: Drawing): ViewStretch[] {
  const viewEvents = trace.events.filter((event) => event.kind === 'view');
  const stretches: ViewStretch[] = [];
  for (const node of layout.nodes) {
    if (typeof node !== 'number' || byzantinePlans.has(node)) continue;
    const starts = [
      { view: 0, changing: false, fromTick: 0, title: `${nodeName(node)} in view 0 from the start` },
    ];
    for (const event of viewEvents) {
      if (event.kind !== 'view' || event.node !== node) continue;
      const what = event.changing
        ? `starts a view change to view ${event.view}`
        : `enters view ${event.view}`;
      const title = `${nodeName(node)} ${what} at tick ${event.tick} (${layout.describeClocks(event)})`;
      // Of two changes at one tick only the later is seen.
      if (starts.at(-1)?.fromTick === event.tick) starts.pop();
      starts.push({ view: event.view, changing: event.changing, fromTick: event.tick, title });
    }
    starts.forEach((start, i) => {
      const toTick = starts[i + 1]?.fromTick ?? layout.endTick;
      if (toTick <= start.fromTick && i + 1 < starts.length) return;
      stretches.push({ node, ...start, toTick });
    });
  }
  return stretches;
}

/** A band per view stretch, coloured by view, hatched while a view change is under way. */
function viewBands({ layout }: Drawing, stretches: readonly ViewStretch[]): string {
  const bands = stretches.map((stretch) => {
    const fill = stretch.changing ? 'url(#hatch)' : (VIEW_FILLS[stretch.view % VIEW_FILLS.length] as string);
    const width = svgNumber(Math.max(0, stretch.toTick - stretch.fromTick) * layout.scalePxPerTick);
    return `<rect class="view" data-t="${stretch.fromTick}" data-t2="${stretch.toTick}" x="${svgNumber(layout.xPx(stretch.fromTick))}" y="${viewBandTopPx(layout, stretch.node)}" width="${width}" height="${VIEW_BAND_HEIGHT_PX}" fill="${fill}"><title>${escapeHtml(stretch.title)}</title></rect>`;
  });
  return `<g id="bands">${bands.join('')}</g>`;
}

function viewBandTopPx(layout: DiagramLayout, node: Address): number {
  return layout.laneTopYPx(node) + VIEW_BAND_MARGIN_PX;
}

/** Where each view stretch starts: an edge (none at the very start) and the view's number. */
function viewLabels({ layout }: Drawing, stretches: readonly ViewStretch[]): string {
  const marks: string[] = [];
  for (const stretch of stretches) {
    const top = viewBandTopPx(layout, stretch.node);
    const x = svgNumber(layout.xPx(stretch.fromTick));
    if (stretch.fromTick > 0 || stretch.view > 0)
      marks.push(
        `<line class="view-edge" data-t="${stretch.fromTick}" x1="${x}" x2="${x}" y1="${top}" y2="${top + VIEW_BAND_HEIGHT_PX}"/>`,
      );
    const label = stretch.changing ? `→v${stretch.view}` : `v${stretch.view}`;
    marks.push(
      `<text class="view-label${stretch.changing ? ' changing' : ''}" data-t="${stretch.fromTick}" x="${x}" dx="2" y="${top + 9}">${label}<title>${escapeHtml(stretch.title)}</title></text>`,
    );
  }
  return marks.join('');
}

/** Tick numbers over grid lines; the page's script redraws them when the reader zooms. */
function timeAxis({ layout }: Drawing): string {
  const marks: string[] = [];
  const step = gridStepTicks(layout.scalePxPerTick);
  for (let tick = 0; tick <= layout.endTick; tick += step) {
    const x = svgNumber(layout.xPx(tick));
    marks.push(
      `<line class="grid" data-t="${tick}" x1="${x}" x2="${x}" y1="${TOP_PX - 6}" y2="${layout.lanesBottomPx}"/>`,
      `<text class="axis" data-t="${tick}" x="${x}" y="${TOP_PX - 10}">${tick}</text>`,
    );
  }
  return `<g id="axis">${marks.join('')}</g>`;
}

/** A line per node, Byzantine ones dashed; the view labels ride along, above the bands and grid. */
function lanes(drawing: Drawing, stretches: readonly ViewStretch[]): string {
  const { layout } = drawing;
  const lines = layout.nodes.map((node) => {
    const y = layout.laneMidYPx(node);
    return `<line class="lane${isByzantineLane(drawing, node) ? ' byz' : ''}" data-node="${escapeHtml(nodeName(node))}" data-t="0" data-t2="${layout.endTick}" x1="${svgNumber(layout.xPx(0))}" x2="${svgNumber(layout.xPx(layout.endTick))}" y1="${y}" y2="${y}"/>`;
  });
  return `<g id="lanes">${lines.join('')}${viewLabels(drawing, stretches)}</g>`;
}

/** The network heal ("GST"), if the run got that far. */
function networkHealMarker({ options, layout }: Drawing): string | undefined {
  const tick = options.healTick;
  if (tick > layout.endTick) return undefined;
  const x = svgNumber(layout.xPx(tick));
  return `<g id="heal"><line class="heal" data-t="${tick}" x1="${x}" x2="${x}" y1="10" y2="${layout.lanesBottomPx}"/><text class="heal-label" data-t="${tick}" x="${x}" dx="3" y="10">network healed @${tick}<title>From tick ${tick}: no drops, no partitions, small delays.</title></text></g>`;
}

/** The selected message arrows and stubs, in send order. */
function messageLines({ layout, arrows }: Drawing): string {
  const lines = arrows.drawn.map((arrow) =>
    arrow.kind === 'delivered' ? deliveredArrow(layout, arrow) : undeliveredStub(layout, arrow),
  );
  return `<g id="messages">${lines.join('')}</g>`;
}

/** The start of a message's tooltip: what it is, from whom to whom, and when it was sent. */
function sendTitle(layout: DiagramLayout, send: TracedSend): string {
  return `${describeMessage(send.message)} ${nodeName(send.node)} → ${nodeName(send.to)}\nsent @${send.tick} (${layout.describeClocks(send)})`;
}

function deliveredArrow(layout: DiagramLayout, arrow: DeliveredArrow): string {
  const { send, deliver } = arrow;
  const y1 = layout.laneMidYPx(send.node);
  const y2 = layout.laneMidYPx(send.to);
  // A message to itself would be a flat line along the lane: its head is lifted to show.
  const lift = send.node === send.to ? -10 : 0;
  const title = `${sendTitle(layout, send)}\ndelivered @${deliver.tick} (${layout.describeClocks(deliver)})${send.outcome === 'duplicated' ? '\n(the network duplicated it)' : ''}`;
  return `<line class="msg m-${arrow.type}" data-t="${arrow.t1}" data-t2="${arrow.t2}" x1="${svgNumber(layout.xPx(arrow.t1))}" y1="${y1}" x2="${svgNumber(layout.xPx(arrow.t2))}" y2="${y2 + lift}" marker-end="url(#ah-${arrow.type})"><title>${escapeHtml(title)}</title></line>`;
}

/** A copy never delivered: a short stub towards its destination, ending in ×. */
function undeliveredStub(layout: DiagramLayout, arrow: UndeliveredArrow): string {
  const send = arrow.send;
  const y1 = layout.laneMidYPx(send.node);
  const y2 = layout.laneMidYPx(send.to);
  // Leaning towards the destination, but never past the neighbouring lane.
  const dy = Math.max(-LANE_HEIGHT_PX * 0.6, Math.min(LANE_HEIGHT_PX * 0.6, (y2 - y1) * 0.35));
  const title = `${sendTitle(layout, send)}\n${undeliveredReason(arrow)}`;
  return `<line class="msg stub ${arrow.kind} m-${arrow.type}" data-t="${arrow.t1}" data-dx="${STUB_PX}" x1="${svgNumber(layout.xPx(arrow.t1))}" y1="${y1}" x2="${svgNumber(layout.xPx(arrow.t1) + STUB_PX)}" y2="${svgNumber(y1 + dy)}" marker-end="url(#ah-x)"><title>${escapeHtml(title)}</title></line>`;
}

function undeliveredReason(arrow: UndeliveredArrow): string {
  if (arrow.kind === 'lost')
    return 'never delivered: cut by a partition in flight, or still in flight when the run ended';
  switch (arrow.send.outcome) {
    case 'partitioned':
      return 'dropped: a partition separates the two';
    case 'overflow':
      return 'dropped: too many frames in flight';
    default:
      return 'dropped by the network';
  }
}

/** What nodes do: executions, state transfers, issued requests, accepted results, rejections, crashes. */
function stepMarks(drawing: Drawing): string {
  const agents = drawing.result.record.agents;
  const honestAgents = new Set(agents.filter((agent) => agent.honest).map((agent) => agent.id));
  const marks: string[] = [];
  for (const event of drawing.trace.events) {
    if (event.node === undefined) continue;
    const mark = eventMark(drawing, event, honestAgents);
    if (mark !== undefined) marks.push(mark);
  }
  return `<g id="marks">${[...marks, ...rejectionMarks(drawing), ...crashMarks(drawing)].join('')}</g>`;
}

/** The mark of one event, for the kinds drawn one by one; rejections are gathered per tick instead. */
function eventMark(
  drawing: Drawing,
  event: NodeEvent,
  honestAgents: ReadonlySet<string>,
): string | undefined {
  const { layout } = drawing;
  const y = layout.laneMidYPx(event.node);
  const at = svgNumber(layout.xPx(event.tick));
  switch (event.kind) {
    case 'execute':
      return executionMark(drawing, event);
    case 'stateTransfer':
      return `<text class="transfer" data-t="${event.tick}" x="${at}" y="${y + 4}">◆<title>${escapeHtml(`${nodeName(event.node)} jumped to checkpoint ${event.sequence} by state transfer at tick ${event.tick}\n${layout.describeClocks(event)}`)}</title></text>`;
    case 'accept':
      return `<g class="accept"><circle data-t="${event.tick}" cx="${at}" cy="${y}" r="4"/><text data-t="${event.tick}" x="${at}" y="${y - 7}">#${event.requestId}✓</text><title>${escapeHtml(`${event.agent} accepted the result of request ${event.requestId} at sequence ${event.sequence} (f+1 matching replies) at tick ${event.tick}\n${layout.describeClocks(event)}`)}</title></g>`;
    case 'send':
      // A lying agent's requests are noise; only honest agents' first sends of a request count.
      if (!event.issue || typeof event.node !== 'string' || !honestAgents.has(event.node)) return undefined;
      return `<g class="issue"><text data-t="${event.tick}" x="${at}" y="${y + 15}">req ${event.message.requestId}</text><title>${escapeHtml(`${nodeName(event.node)} issued request ${event.message.requestId} at tick ${event.tick}\n${layout.describeClocks(event)}`)}</title></g>`;
    default:
      return undefined;
  }
}

/** A numbered dot per executed sequence: hollow when fetched, red when the first violation names it. */
function executionMark({ layout, focus }: Drawing, event: Extract<NodeEvent, { kind: 'execute' }>): string {
  const culprit = isCulpritExecution(focus, event.node, event.sequence);
  const y = layout.laneMidYPx(event.node);
  const at = svgNumber(layout.xPx(event.tick));
  const title = `${nodeName(event.node)} executed sequence ${event.sequence} (view ${event.view}, ${event.requests} requests${event.via === 'fetch' ? ', fetched with its commit certificate' : ''}) at tick ${event.tick}\n${layout.describeClocks(event)}`;
  // Odd and even sequence numbers sit at two heights, so neighbours do not overlap.
  const labelY = y - (event.sequence % 2 === 0 ? 15 : 7);
  return `<g class="exec${event.via === 'fetch' ? ' fetched' : ''}${culprit ? ' culprit' : ''}"><circle data-t="${event.tick}" cx="${at}" cy="${y}" r="${culprit ? 5.5 : 3.5}"/><text data-t="${event.tick}" x="${at}" y="${labelY}">${event.sequence}</text><title>${escapeHtml(title)}</title></g>`;
}

/** One ⊘ per node and tick, with the codes of every input it rejected then (a flood would pile up). */
function rejectionMarks({ trace, layout }: Drawing): string[] {
  const rejections = new Map<
    string,
    { node: Address; tick: number; codes: Map<string, number>; clocks: string }
  >();
  for (const event of trace.events) {
    if (event.kind !== 'reject') continue;
    const key = `${nodeName(event.node)}@${event.tick}`;
    let entry = rejections.get(key);
    if (entry === undefined) {
      entry = { node: event.node, tick: event.tick, codes: new Map(), clocks: layout.describeClocks(event) };
      rejections.set(key, entry);
    }
    entry.codes.set(event.code, (entry.codes.get(event.code) ?? 0) + 1);
  }
  return [...rejections.values()].map((entry) => {
    const codes = [...entry.codes]
      .map(([code, count]) => (count > 1 ? `${code} ×${count}` : code))
      .join(', ');
    return `<text class="reject" data-t="${entry.tick}" x="${svgNumber(layout.xPx(entry.tick))}" y="${layout.laneMidYPx(entry.node) + 13}">⊘<title>${escapeHtml(`${nodeName(entry.node)} rejected at tick ${entry.tick}: ${codes}\n${entry.clocks}`)}</title></text>`;
  });
}

/** Where Byzantine replicas planned to crash fall silent. */
function crashMarks({ options, layout }: Drawing): string[] {
  const marks: string[] = [];
  for (const plan of options.byzantine) {
    const tick = plan.crashTick;
    if (tick === undefined || !layout.hasLane(plan.id) || tick > layout.endTick) continue;
    marks.push(
      `<text class="crash" data-t="${tick}" x="${svgNumber(layout.xPx(tick))}" y="${layout.laneMidYPx(plan.id) + 4}">✖ crashed<title>${escapeHtml(`Byzantine replica ${plan.id} crashes at tick ${tick} and stays silent`)}</title></text>`,
    );
  }
  return marks;
}

/** `[checker @tick]`, as violations are listed. */
function violationTag(violation: Violation): string {
  return `[${violation.checker}${violation.tick === undefined ? '' : ` @${violation.tick}`}]`;
}

/** The first violation: a red line across every lane, labelled, over everything else. */
function firstViolationMarker({ focus, layout }: Drawing): string | undefined {
  if (focus === undefined) return undefined;
  const { violation, tick } = focus;
  const x = svgNumber(layout.xPx(tick));
  const label = `⚠ first violation: ${violation.checker} @${violation.tick ?? 'end'}`;
  // Near the right edge the label runs leftwards, so it is not cut off.
  const placement = tick > layout.endTick * 0.75 ? 'dx="-4" text-anchor="end"' : 'dx="4"';
  return `<g id="first-violation" class="violation" data-tick="${tick}"><line data-t="${tick}" x1="${x}" x2="${x}" y1="30" y2="${layout.lanesBottomPx}"/><text data-t="${tick}" x="${x}" ${placement} y="${TOP_PX - 24}">${escapeHtml(label)}</text><title>${escapeHtml(`${violationTag(violation)} ${violation.message}`)}</title></g>`;
}

/** The diagram's content, as the sections above draw it. */
function svgContent(drawing: Drawing): string {
  const stretches = viewStretches(drawing);
  const sections = [
    markerDefs(),
    laneBackgrounds(drawing),
    viewBands(drawing, stretches),
    partitionStrips(drawing),
    partitionBanners(drawing),
    timeAxis(drawing),
    lanes(drawing, stretches),
    networkHealMarker(drawing),
    messageLines(drawing),
    stepMarks(drawing),
    firstViolationMarker(drawing),
  ];
  return sections.filter((section) => section !== undefined).join('\n');
}

// ---------------------------------------------------------------------------------------------
// The page around the diagram: lane labels, the header, styles and the zoom script.

/** Each lane's name and what became of it, outside the scrolling diagram so they stay in view. */
function laneLabels(drawing: Drawing): string {
  const { layout, focus } = drawing;
  const labels = layout.nodes.map((node) => {
    const { text, detail, byzantine } =
      typeof node === 'number' ? replicaLabel(drawing, node) : agentLabel(drawing, node);
    const named = isNamed(focus, node);
    const classes = `label${byzantine ? ' byz' : ''}${named ? ' named' : ''}`;
    const tooltip = `${text}${detail === '' ? '' : `: ${detail}`}`;
    return `<div class="${classes}" style="top:${layout.laneMidYPx(node) - 16}px" title="${escapeHtml(tooltip)}"><b>${named ? '⚠ ' : ''}${escapeHtml(text)}</b><span>${escapeHtml(detail)}</span></div>`;
  });
  return labels.join('');
}

interface LaneLabel {
  readonly text: string;
  readonly detail: string;
  readonly byzantine: boolean;
}

/** A Byzantine replica's strategies, or where an honest one ended up. */
function replicaLabel({ result, options, byzantinePlans }: Drawing, id: number): LaneLabel {
  const text = `replica ${id}`;
  const plan = byzantinePlans.get(id);
  if (plan !== undefined) {
    const crash = plan.crashTick === undefined ? '' : ` @${plan.crashTick}`;
    const colluding = plan.colluding && options.collusion ? ' · colluding' : '';
    return { text, detail: `Byzantine: ${plan.strategies.join(', ')}${crash}${colluding}`, byzantine: true };
  }
  const final = result.record.replicas[id]?.final;
  const detail = final === undefined ? '' : `ended in view ${final.view}, executed ${final.lastExecuted}`;
  return { text, detail, byzantine: false };
}

/** A lying agent, or how many of its requests an honest one saw accepted. */
function agentLabel({ result }: Drawing, id: string): LaneLabel {
  const record = result.record.agents.find((agent) => agent.id === id);
  if (record === undefined) return { text: id, detail: '', byzantine: false };
  if (!record.honest) return { text: id, detail: 'lying agent', byzantine: true };
  const accepted = new Set(record.accepted.map((a) => a.requestId)).size;
  return { text: id, detail: `${accepted}/${record.requestsPlanned} accepted`, byzantine: false };
}

/** `passed`, or which kind of property failed (safety outranks liveness). */
function verdictOf(violations: readonly Violation[]): string {
  if (violations.length === 0) return 'passed';
  return `FAILED (${violations.some((v) => v.checker !== 'liveness') ? 'SAFETY' : 'LIVENESS'})`;
}

/** Every violation, the first marked; or a line saying there were none. */
function violationList({ result, focus }: Drawing): string {
  if (result.violations.length === 0) return '<div class="extra">No violations: every checker passed.</div>';
  const items = result.violations.map((v) => {
    const first = v === focus?.violation;
    return `<li${first ? ' class="first"' : ''}><code>${escapeHtml(violationTag(v))}</code> ${escapeHtml(v.message)}${first ? ' <b>← first</b>' : ''}</li>`;
  });
  return `<ol class="violations">${items.join('')}</ol>`;
}

/** The scenario in a few phrases: shape, faults, and what the run amounted to. */
function scenarioSummary({ trace, result, options }: Drawing): string[] {
  const { f } = quorumsOf(options.replicas);
  const { faults } = options;
  const network = result.stats.network;
  const percent = (probability: number) => `${(probability * 100).toFixed(1)}%`;
  return [
    `n=${options.replicas}, f=${f}, ${options.byzantine.length} Byzantine${options.byzantine.length > f ? ' (beyond f: failures expected)' : ''}${options.collusion ? ', colluding' : ''}`,
    `${options.agents} agents × ${options.requestsPerAgent} requests${options.byzantineAgents > 0 ? `, ${options.byzantineAgents} lying agent(s)` : ''}`,
    `faults until tick ${options.healTick}: drop ${percent(faults.dropProbability)}, duplicate ${percent(faults.duplicateProbability)}, delay ${faults.delayTicksMin}–${faults.delayTicksMax} ticks, reorder ${percent(faults.reorderProbability)}`,
    `${options.partitions.length} partition(s)`,
    `ran ${result.stats.ticks} ticks; ${network.sent} sent, ${network.delivered} delivered, ${network.dropped + network.droppedByPartition + network.droppedOverflow} dropped, ${network.duplicated} duplicated`,
    `${trace.events.length} trace events`,
  ];
}

/** What the picture leaves out: thinned arrows, a capped trace. */
function omissionNotes({ trace, arrows }: Drawing): string[] {
  const notes: string[] = [];
  if (arrows.drawn.length < arrows.total) {
    notes.push(
      `Thinned: ${arrows.drawn.length} of ${arrows.total} message arrows drawn (at most ${arrows.max}), evenly per type; every arrow within ${VIOLATION_WINDOW_TICKS_BEFORE} ticks before and ${VIOLATION_WINDOW_TICKS_AFTER} after the first violation is kept.`,
    );
  }
  if (trace.eventsDropped > 0) {
    notes.push(
      `Trace capped at ${trace.eventsMax} events: ${trace.eventsDropped} later events (from tick ${trace.cappedAtTick}) are not shown; the picture ends there.`,
    );
  }
  return notes;
}

/** The colour key, by group; each entry is a checkbox that hides its message type. */
function legend(): string {
  const groups = new Map<string, string[]>();
  for (const [name, colour, group] of TYPE_COLOURS) {
    if (name === 'other') continue;
    const list = groups.get(group) ?? [];
    list.push(
      `<label class="key" data-type="${name}"><input type="checkbox" checked data-type="${name}"><i style="background:${colour}"></i>${name}</label>`,
    );
    groups.set(group, list);
  }
  const spans = [...groups].map(
    ([group, items]) => `<span class="group"><em>${escapeHtml(group)}</em>${items.join(' ')}</span>`,
  );
  return spans.join(' ');
}

/** How to read the marks, under the legend. */
const READING_GUIDE =
  'Lines: one per replica and agent (Byzantine ones red and dashed); arrows: delivered messages; dashed stubs ending in ×: dropped copies (dotted: never delivered); shaded bands: views (hatched: view change in progress); numbered dots: executed sequences (hollow: fetched); ◆: state transfer; ⊘: rejected input; green: results agents accepted; orange/blue strips under a lane: its side of a partition (shown on top). Hover anything for its Lamport and vector timestamps.';

/** Verdict, replay command, violations, scenario, notes, legend and the zoom buttons. */
function pageHeader(drawing: Drawing): string {
  const { result, shape, focus } = drawing;
  const replay = `${replayCommand(result.seed, shape)} --html run.html`;
  const notes = omissionNotes(drawing).map((note) => `<div class="notes">${escapeHtml(note)}</div>`);
  const gotoButton = focus === undefined ? '' : '<button id="goto-violation">go to first violation</button>';
  return `<header>
<h1>Conclave run · seed ${result.seed} · <span class="${result.violations.length > 0 ? 'fail' : 'pass'}">${verdictOf(result.violations)}</span></h1>
<div>Replay: <code>${escapeHtml(replay)}</code></div>
${violationList(drawing)}
<div class="scenario">${scenarioSummary(drawing).map(escapeHtml).join(' · ')}</div>
${notes.join('')}
<div class="legend">${legend()}</div>
<div class="extra">${READING_GUIDE}</div>
<div class="controls"><button id="zoom-out">− zoom out</button><button id="zoom-in">+ zoom in</button><button id="zoom-fit">fit</button>${gotoButton} <span class="extra">(ctrl + wheel zooms; legend entries toggle message types)</span></div>
</header>`;
}

const PAGE_CSS = `
body{font:13px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#222;background:#fff}
header{padding:10px 16px;border-bottom:1px solid #ddd}
h1{font-size:17px;margin:0 0 4px}
h1 .fail{color:#c00}h1 .pass{color:#080}
code{font:12px ui-monospace,Menlo,Consolas,monospace;background:#f4f4f4;padding:1px 4px;border-radius:3px}
ol.violations{margin:6px 0;padding-left:22px;max-height:150px;overflow:auto}
ol.violations li.first{background:#ffecec;border-left:3px solid #d00;padding-left:4px}
.scenario{color:#555}.notes{color:#8a5a00;font-weight:600}
.legend{margin-top:6px}.group{margin-right:12px;white-space:nowrap}.group em{color:#777;margin-right:4px}
.key{margin-right:6px;cursor:pointer}.key input{display:none}.key i{display:inline-block;width:14px;height:4px;margin:0 3px 2px 0;vertical-align:middle}
.key.off{opacity:.35;text-decoration:line-through}
.extra{color:#555}
.controls{margin-top:6px}.controls button{font:12px system-ui;margin-right:4px}
.chart{display:flex;position:relative}
.labels{position:relative;flex:0 0 190px;border-right:1px solid #ddd;background:#fafafa}
.label{position:absolute;left:8px;right:4px;line-height:1.15;overflow:hidden;white-space:nowrap}
.label b{display:block;font-size:12px}.label span{font-size:10.5px;color:#666}
.label.byz b{color:#b00}.label.named b{color:#d00}
.scroll{overflow-x:auto;overflow-y:hidden;flex:1 1 auto;min-width:0}
svg text{font:10px system-ui,sans-serif;fill:#333}
.lane{stroke:#999;stroke-width:1.2}.lane.byz{stroke:#c33;stroke-dasharray:6 3}
.lane-bg.byz{fill:#fff0f0}.lane-bg.named{fill:none;stroke:#e00;stroke-width:2}
.grid{stroke:#eee}.axis{fill:#888;text-anchor:middle}
.view{stroke:none;opacity:.9}.view-edge{stroke:#6a7fb5;stroke-width:1}
.view-label{fill:#3a4f8a;font-weight:600}.view-label.changing{fill:#b33}
.part-a{fill:#ff9f1c;opacity:.75}.part-b{fill:#3d7eff;opacity:.6}
.part-top{fill:#ffd59a;stroke:#d9a040}.part-label{font-weight:700;fill:#7a4a00}
.heal{stroke:#2a8a2a;stroke-dasharray:5 4;stroke-width:1.2}.heal-label{fill:#2a8a2a}
.msg{stroke-width:1.1;opacity:.75}.msg:hover{stroke-width:3.5;opacity:1}
.stub{stroke-dasharray:3 2}.stub.lost{stroke-dasharray:1 2}
${TYPE_COLOURS.map(([name, colour]) => `.m-${name}{stroke:${colour}}.hide-${name} .m-${name}{display:none}`).join('\n')}
.exec circle{fill:#222}.exec text{text-anchor:middle;font-weight:600}
.exec.fetched circle{fill:#fff;stroke:#222;stroke-width:1.2}
.exec.culprit circle{fill:#e00;stroke:#600;stroke-width:1.5}.exec.culprit text{fill:#d00;font-size:12px}
.accept circle{fill:#2a8a2a}.accept text{fill:#2a8a2a;text-anchor:middle;font-weight:600}
.issue text{fill:#1f77b4;text-anchor:middle}
.transfer{fill:#8a2be2;font-size:13px;text-anchor:middle}
.crash{fill:#b00;font-weight:700;font-size:11px}
.reject{fill:#c44;text-anchor:middle;font-size:9px;opacity:.8}
.violation line{stroke:#e00;stroke-width:2.5}.violation text{fill:#d00;font-weight:700;font-size:12px}
`;

/**
 * Zoom (buttons, ctrl + wheel, `#t=…&scale=…` in the address), legend toggles, and the jump to
 * the first violation. Zooming moves every mark with a `data-t` (`data-t2` for its end, `data-dx`
 * for a fixed-length stub) to the new scale, so the page never needs the run again.
 */
function pageScript({ layout, focus }: Drawing): string {
  return `
(function(){
  var svg=document.getElementById('diagram'),scroll=document.getElementById('scroll');
  var scale=${layout.scalePxPerTick},left=${LEFT_PX},right=${RIGHT_PX},end=${layout.endTick},focus=${focus?.tick ?? 'null'};
  var axis=document.getElementById('axis'),top=${TOP_PX},bottom=${layout.lanesBottomPx};
  function X(t){return left+t*scale;}
  function drawAxis(){
    var steps=[1,2,5,10,20,50,100,200,500,1000,2000,5000,10000,20000,50000],step=steps[steps.length-1];
    for(var s=0;s<steps.length;s++){if(steps[s]*scale>=70){step=steps[s];break;}}
    var out='';
    for(var t=0;t<=end;t+=step){var x=X(t);out+='<line class="grid" x1="'+x+'" x2="'+x+'" y1="'+(top-6)+'" y2="'+bottom+'"/><text class="axis" x="'+x+'" y="'+(top-10)+'">'+t+'</text>';}
    axis.innerHTML=out;
  }
  function layout(){
    svg.setAttribute('width',String(X(end)+right));
    drawAxis();
    var els=svg.querySelectorAll('[data-t]');
    for(var i=0;i<els.length;i++){
      var el=els[i],t=+el.getAttribute('data-t'),t2=el.getAttribute('data-t2'),dx=el.getAttribute('data-dx'),tag=el.tagName.toLowerCase();
      if(tag==='line'){el.setAttribute('x1',X(t));el.setAttribute('x2',t2!==null?X(+t2):dx!==null?X(t)+(+dx):X(t));}
      else if(tag==='rect'){el.setAttribute('x',X(t));el.setAttribute('width',Math.max(0,(+t2-t)*scale));}
      else if(tag==='circle'){el.setAttribute('cx',X(t));}
      else{el.setAttribute('x',X(t));}
    }
  }
  function zoom(factor,anchorTick){
    var view=scroll.clientWidth,at=anchorTick!==undefined?anchorTick:(scroll.scrollLeft+view/2-left)/scale;
    scale=Math.max(0.05,Math.min(60,scale*factor));layout();
    scroll.scrollLeft=X(at)-view/2;
  }
  document.getElementById('zoom-in').onclick=function(){zoom(1.6);};
  document.getElementById('zoom-out').onclick=function(){zoom(1/1.6);};
  document.getElementById('zoom-fit').onclick=function(){scale=Math.max(0.05,(scroll.clientWidth-left-right)/end);layout();scroll.scrollLeft=0;};
  var go=document.getElementById('goto-violation');
  if(go){go.onclick=function(){if(scale<4)zoom(4/scale,focus);scroll.scrollLeft=X(focus)-scroll.clientWidth*0.7;};}
  scroll.addEventListener('wheel',function(e){if(e.ctrlKey||e.metaKey){e.preventDefault();var r=scroll.getBoundingClientRect();var t=(scroll.scrollLeft+e.clientX-r.left-left)/scale;zoom(e.deltaY<0?1.25:0.8,t);scroll.scrollLeft=X(t)-(e.clientX-r.left);}},{passive:false});
  var keys=document.querySelectorAll('.key input');
  for(var k=0;k<keys.length;k++){keys[k].onchange=function(e){var type=e.target.getAttribute('data-type');svg.classList.toggle('hide-'+type,!e.target.checked);e.target.parentNode.classList.toggle('off',!e.target.checked);};}
  var hash=/[#&]t=([0-9]+)(?:&scale=([0-9.]+))?/.exec(location.hash);
  if(hash){if(hash[2]){scale=+hash[2];layout();}scroll.scrollLeft=X(+hash[1])-scroll.clientWidth/2;}
  else if(focus!==null&&X(focus)>scroll.clientWidth*0.8){scroll.scrollLeft=X(focus)-scroll.clientWidth*0.7;}
})();
`;
}

/** The page: header, then the lane labels beside the scrolling diagram, then the script. */
function pageHtml(
  drawing: Drawing,
  parts: { readonly header: string; readonly labels: string; readonly svg: string; readonly script: string },
): string {
  const { result, layout } = drawing;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Conclave run · seed ${result.seed} · ${verdictOf(result.violations)}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
${parts.header}
<div class="chart">
<div class="labels" style="height:${layout.heightPx}px">${parts.labels}</div>
<div class="scroll" id="scroll">
<svg id="diagram" width="${svgNumber(layout.widthPx)}" height="${layout.heightPx}" role="img" aria-label="space-time diagram of seed ${result.seed}">
${parts.svg}
</svg>
</div>
</div>
<script>${parts.script}</script>
</body>
</html>
`;
}

export function renderRunHtml(trace: RunTrace, result: ScenarioResult, render: RenderOptions = {}): string {
  const drawing = drawingOf(trace, result, render);
  return pageHtml(drawing, {
    header: pageHeader(drawing),
    labels: laneLabels(drawing),
    svg: svgContent(drawing),
    script: pageScript(drawing),
  });
}
