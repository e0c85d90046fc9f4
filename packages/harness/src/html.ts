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
import { drawingOf, type RenderOptions } from './html-drawing.ts';
import { laneLabels, pageHeader, pageHtml, pageScript } from './html-page.ts';
import { svgContent } from './html-svg.ts';
import type { ScenarioOptions, ScenarioResult } from './scenario-options.ts';
import { runScenario } from './simulation.ts';
import { type RunTrace, traceCollector, traceNodes } from './trace.ts';

export {
  firstViolation,
  HTML_ARROWS_MAX,
  namedNodes,
  type RenderOptions,
  VIOLATION_WINDOW_TICKS_AFTER,
  VIOLATION_WINDOW_TICKS_BEFORE,
} from './html-drawing.ts';
export { escapeHtml } from './html-layout.ts';

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

/** The page for a traced run: the header, then lane labels beside the diagram, then the zoom script. */
export function renderRunHtml(trace: RunTrace, result: ScenarioResult, render: RenderOptions = {}): string {
  const drawing = drawingOf(trace, result, render);
  return pageHtml(drawing, {
    header: pageHeader(drawing),
    labels: laneLabels(drawing),
    svg: svgContent(drawing),
    script: pageScript(drawing),
  });
}
