/**
 * Where and how a run's picture is written (see html.ts): the page geometry, the colours, the
 * tick-to-pixel layout, and the escaping and number format every section uses.
 */
import type { Address } from './network.ts';
import { type NodeEvent, nodeName } from './trace.ts';

/** Vector components listed in full in a tooltip at most; larger vectors list non-zero ones. */
const VECTOR_FULL_COMPONENTS_MAX = 16;

export const LANE_HEIGHT_PX = 46;
/** Room above the first lane for the partition banners, the first violation's label and the axis. */
export const TOP_MARGIN_PX = 64;
const BOTTOM_MARGIN_PX = 24;
export const LEFT_MARGIN_PX = 12;
export const RIGHT_MARGIN_PX = 40;
/** The width a run is first scaled to, within the two limits below; the reader zooms from there. */
const FIT_WIDTH_PX = 1400;
const SCALE_MIN_PX_PER_TICK = 1.5;
const SCALE_MAX_PX_PER_TICK = 14;
/** Length of a dropped message's stub, in pixels (it does not stretch with zoom). */
export const STUB_LENGTH_PX = 14;
/** Gap between a view band and its lane's top and bottom edges. */
export const VIEW_BAND_MARGIN_PX = 3;
export const VIEW_BAND_HEIGHT_PX = LANE_HEIGHT_PX - 2 * VIEW_BAND_MARGIN_PX;
/** Height of the strip under a lane that marks its side of a partition. */
export const PARTITION_STRIP_HEIGHT_PX = 5;

/** Colours by message type; the legend lists them in this order. */
export const TYPE_COLOURS: readonly (readonly [name: string, colour: string, group: string])[] = [
  ['request', '#1f77b4', 'request'],
  ['pre-prepare', '#9467bd', 'pre-prepare'],
  ['prepare', '#2ca02c', 'prepare'],
  ['commit', '#ff7f0e', 'commit'],
  ['reply', '#17becf', 'reply'],
  ['checkpoint', '#8c564b', 'checkpoint'],
  ['view-change', '#d62728', 'view change'],
  ['new-view', '#e377c2', 'view change'],
  ['suspect', '#ff9896', 'view change'],
  ['return', '#c49c94', 'view change'],
  ['return-ack', '#f7b6d2', 'view change'],
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
export const VIEW_FILLS = ['#e8eefc', '#fcefe3', '#e6f6ea', '#f6e6f3', '#fbf7dc', '#e3f4f6'];

/** The message type a colour is kept for, or `other`. */
export function typeClass(name: string): string {
  return KNOWN_TYPES.has(name) ? name : 'other';
}

/**
 * Where marks go: ticks to x at one scale chosen so a typical run fits a screen, nodes to lanes
 * in trace order. The page's script redoes the x mapping when the reader zooms (see `data-t`).
 */
export class DiagramLayout {
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
    this.heightPx = TOP_MARGIN_PX + nodes.length * LANE_HEIGHT_PX + BOTTOM_MARGIN_PX;
    this.widthPx = this.xPx(endTick) + RIGHT_MARGIN_PX;
  }

  hasLane(node: Address): boolean {
    return this.#laneIndex.has(node);
  }

  xPx(tick: number): number {
    return LEFT_MARGIN_PX + tick * this.scalePxPerTick;
  }

  /** A node without a lane of its own is drawn on the first lane. */
  laneMidYPx(node: Address): number {
    return TOP_MARGIN_PX + (this.#laneIndex.get(node) ?? 0) * LANE_HEIGHT_PX + LANE_HEIGHT_PX / 2;
  }

  laneTopYPx(node: Address): number {
    return this.laneMidYPx(node) - LANE_HEIGHT_PX / 2;
  }

  /** Where lines that span every lane (the first violation, the heal) end. */
  get lanesBottomYPx(): number {
    return this.heightPx - BOTTOM_MARGIN_PX;
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
export function svgNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
