/**
 * The SVG of a run's picture (see html.ts), bottom layer first: each section is one group, or
 * undefined when it has nothing to draw. Every mark carries its tick in `data-t` so the page's
 * script can move it when the reader zooms.
 */
import {
  type DeliveredArrow,
  type Drawing,
  isCulpritExecution,
  isNamed,
  type UndeliveredArrow,
  violationTag,
} from './html-drawing.ts';
import {
  type DiagramLayout,
  escapeHtml,
  LANE_HEIGHT_PX,
  PARTITION_STRIP_HEIGHT_PX,
  STUB_LENGTH_PX,
  svgNumber,
  TOP_MARGIN_PX,
  TYPE_COLOURS,
  VIEW_BAND_HEIGHT_PX,
  VIEW_BAND_MARGIN_PX,
  VIEW_FILLS,
} from './html-layout.ts';
import type { Address, Partition } from './network.ts';
import type { ScenarioOptions } from './scenario-options.ts';
import { describeMessage, type NodeEvent, nodeName, type TracedSend } from './trace.ts';

/** Ticks between grid lines: the first round step at least 70 px wide (the page's script agrees). */
function gridStepTicks(scalePxPerTick: number): number {
  for (const step of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000]) {
    if (step * scalePxPerTick >= 70) return step;
  }
  return 50_000;
}

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

/** A partition as drawn: P1, P2… by its place in the options, ending at the network heal at the latest. */
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
        const y = layout.laneMidYPx(node) + LANE_HEIGHT_PX / 2 - PARTITION_STRIP_HEIGHT_PX - 1;
        const stripTitle = `${title}; ${nodeName(node)} on side ${side.toUpperCase()}`;
        strips.push(
          `<rect class="part part-${side}" data-t="${partition.startTick}" data-t2="${endTick}" x="${x}" y="${y}" width="${width}" height="${PARTITION_STRIP_HEIGHT_PX}"><title>${escapeHtml(stripTitle)}</title></rect>`,
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

/** Every honest replica's view stretches, lane by lane (Byzantine replicas get none). */
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
      `<line class="grid" data-t="${tick}" x1="${x}" x2="${x}" y1="${TOP_MARGIN_PX - 6}" y2="${layout.lanesBottomYPx}"/>`,
      `<text class="axis" data-t="${tick}" x="${x}" y="${TOP_MARGIN_PX - 10}">${tick}</text>`,
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
  return `<g id="heal"><line class="heal" data-t="${tick}" x1="${x}" x2="${x}" y1="10" y2="${layout.lanesBottomYPx}"/><text class="heal-label" data-t="${tick}" x="${x}" dx="3" y="10">network healed @${tick}<title>From tick ${tick}: no drops, no partitions, small delays.</title></text></g>`;
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
  return `<line class="msg stub ${arrow.kind} m-${arrow.type}" data-t="${arrow.t1}" data-dx="${STUB_LENGTH_PX}" x1="${svgNumber(layout.xPx(arrow.t1))}" y1="${y1}" x2="${svgNumber(layout.xPx(arrow.t1) + STUB_LENGTH_PX)}" y2="${svgNumber(y1 + dy)}" marker-end="url(#ah-x)"><title>${escapeHtml(title)}</title></line>`;
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
      // Labelled where an honest agent first sends a request; lying agents' requests are not.
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

/** The first violation: a red line across every lane, labelled, over everything else. */
function firstViolationMarker({ focus, layout }: Drawing): string | undefined {
  if (focus === undefined) return undefined;
  const { violation, tick } = focus;
  const x = svgNumber(layout.xPx(tick));
  const label = `⚠ first violation: ${violation.checker} @${violation.tick ?? 'end'}`;
  // Near the right edge the label runs leftwards, so it is not cut off.
  const placement = tick > layout.endTick * 0.75 ? 'dx="-4" text-anchor="end"' : 'dx="4"';
  return `<g id="first-violation" class="violation" data-tick="${tick}"><line data-t="${tick}" x1="${x}" x2="${x}" y1="30" y2="${layout.lanesBottomYPx}"/><text data-t="${tick}" x="${x}" ${placement} y="${TOP_MARGIN_PX - 24}">${escapeHtml(label)}</text><title>${escapeHtml(`${violationTag(violation)} ${violation.message}`)}</title></g>`;
}

/** The diagram's content, as the sections above draw it. */
export function svgContent(drawing: Drawing): string {
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
