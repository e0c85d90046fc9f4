/**
 * The page around a run's diagram (see html.ts): lane labels, the header with verdict, replay
 * command, violations and legend, the styles, and the script that zooms.
 */
import { quorumsOf } from '@conclave/core';
import type { Violation } from './checkers.ts';
import {
  type Drawing,
  isNamed,
  VIOLATION_WINDOW_TICKS_AFTER,
  VIOLATION_WINDOW_TICKS_BEFORE,
  violationTag,
} from './html-drawing.ts';
import {
  escapeHtml,
  LEFT_MARGIN_PX,
  RIGHT_MARGIN_PX,
  svgNumber,
  TOP_MARGIN_PX,
  TYPE_COLOURS,
} from './html-layout.ts';
import { replayCommand } from './scenario.ts';

/** Each lane's name and what became of it, outside the scrolling diagram so they stay in view. */
export function laneLabels(drawing: Drawing): string {
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
  if (violations.every((v) => v.checker === 'fairness')) return 'FAILED (FAIRNESS)';
  const unsafe = violations.some((v) => v.checker !== 'liveness' && v.checker !== 'fairness');
  return `FAILED (${unsafe ? 'SAFETY' : 'LIVENESS'})`;
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
export function pageHeader(drawing: Drawing): string {
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

/** The page's styles; each message type gets its colour and a `hide-…` class the legend toggles. */
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
export function pageScript({ layout, focus }: Drawing): string {
  return `
(function(){
  var svg=document.getElementById('diagram'),scroll=document.getElementById('scroll');
  var scale=${layout.scalePxPerTick},left=${LEFT_MARGIN_PX},right=${RIGHT_MARGIN_PX},end=${layout.endTick},focus=${focus?.tick ?? 'null'};
  var axis=document.getElementById('axis'),top=${TOP_MARGIN_PX},bottom=${layout.lanesBottomYPx};
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
export function pageHtml(
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
