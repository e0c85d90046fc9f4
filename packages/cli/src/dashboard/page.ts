/**
 * The dashboard's one page: inline CSS and JS, no build step. It polls /api/state every second
 * and verifies pasted receipts itself with /nacl.js (tweetnacl) and /verify.js (browser-verify.ts),
 * and every evidence item with /evidence.js (browser-evidence.ts): each item is checked when it
 * first appears or changes (or the agent's keys do), and again on its "check" button.
 */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Conclave dashboard</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 16px; color: #222; background: #fafafa; }
  h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 18px 0 6px; }
  table { border-collapse: collapse; background: #fff; } td, th { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }
  th { background: #eee; } .mono { font-family: ui-monospace, monospace; font-size: 12px; }
  tr.up td.state { background: #c8f0c8; } tr.down td { background: #f7c6c6; } tr.down td.state { background: #e04040; color: #fff; font-weight: bold; }
  .muted { color: #777; } .warn { color: #b00; font-weight: bold; }
  .ok { background: #c8f0c8; padding: 6px; } .bad { background: #f7c6c6; padding: 6px; }
  textarea { width: 100%; max-width: 900px; height: 70px; font-family: ui-monospace, monospace; font-size: 11px; }
  .grid { display: flex; gap: 24px; flex-wrap: wrap; }
  td.check { max-width: 420px; } td.check.ok { background: #c8f0c8; } td.check.bad { background: #f7c6c6; }
  td.check .muted { font-size: 12px; } td.check button { font-size: 11px; }
</style>
</head>
<body>
<h1>Conclave dashboard</h1>
<div id="meta" class="muted">loading…</div>
<h2>Replicas</h2>
<table id="replicas"><thead><tr><th>replica</th><th>state</th><th>view</th><th>primary</th><th>executed</th><th>checkpoint</th><th>lag</th><th>view changes</th><th>rejections</th><th>agent refusals</th><th>RSS</th><th>heap</th></tr></thead><tbody></tbody></table>
<div class="grid">
<div><h2>Agents</h2><div id="council" class="muted"></div>
<table id="agents"><thead><tr><th>agent</th><th>role</th><th>key in force</th><th>keys</th><th>weight</th><th>quotas used (of limit; * overridden)</th><th>refused (most any replica saw)</th></tr></thead><tbody></tbody></table></div>
<div><h2>Evidence</h2>
<table id="evidence"><thead><tr><th>#</th><th>kind</th><th>agent</th><th>proposal</th><th>recorded at</th><th>verified in this page</th></tr></thead><tbody></tbody></table></div>
</div>
<h2>Proposals</h2>
<div id="registry-note" class="muted"></div>
<table id="proposals"><thead><tr><th>proposal</th><th>title</th><th>status</th><th>phase</th><th>tally (count/weight)</th><th>excluded</th><th>unrevealed</th></tr></thead><tbody></tbody></table>
<h2>Verify a receipt</h2>
<p class="muted">Paste a receipt (base64 or hex, as the MCP server and the CLI print it). It is checked in this page with tweetnacl, against the replicas' public keys and the agents' key histories.</p>
<textarea id="receipt" placeholder="receipt"></textarea><br>
<button id="verify">Verify</button>
<div id="verdict"></div>
<script src="/nacl.js"></script>
<script src="/verify.js"></script>
<script src="/evidence.js"></script>
<script>
const esc = (v) => String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const mb = (b) => (typeof b === 'number' ? (b / 1048576).toFixed(0) + ' MB' : '');
const kv = (o) => Object.entries(o || {}).map(([k, v]) => esc(k) + ': ' + esc(v)).join('<br>') || '<span class="muted">none</span>';
const cc = (c) => (c ? c.count + '/' + c.weight : '');
const QUOTA_WORDS = { claimsPerAgentMax: 'claims', eventsPerAgentMax: 'events', eventsPerWindowPerAgentMax: 'events/window', kvBytesPerAgentMax: 'kv bytes', kvKeysPerAgentMax: 'kv keys', locksPerAgentMax: 'locks', openProposalsPerAgentMax: 'open proposals', retainedProposalsPerAgentMax: 'kept proposals', tasksPerAgentMax: 'tasks' };
// The quotas an agent uses (or has lowered), used/limit; a full one in red: its next such write is refused.
function usageCell(a, usage) {
  const u = (usage || []).find((x) => x.agent === a.id);
  if (!u) return '<span class="muted">not read</span>';
  const parts = Object.keys(QUOTA_WORDS).filter((n) => u.used[n] > 0 || (a.quotas && a.quotas[n] !== undefined)).map((n) => {
    const text = QUOTA_WORDS[n] + ' ' + u.used[n] + '/' + u.limits[n] + (a.quotas && a.quotas[n] !== undefined ? '*' : '');
    return u.used[n] >= u.limits[n] ? '<span class="warn" data-full="' + n + '">' + esc(text) + ' full</span>' : esc(text);
  });
  return parts.join('<br>') || '<span class="muted">holds nothing</span>';
}
// An agent's refusals by reason, the most any one replica counted: frames refused on arrival
// (rate, queue) and ordered operations the state machine refused (QUOTA, READ_ONLY, …).
function refusalsOf(agent, replicas) {
  const out = {};
  for (const r of replicas) for (const [key, n] of Object.entries(Object.assign({}, r.agentRefusals, r.operationRefusals))) {
    const at = key.indexOf('/');
    if (key.slice(0, at) === agent) out[key.slice(at + 1)] = Math.max(out[key.slice(at + 1)] || 0, n);
  }
  return out;
}
let latest;
// Each item's last verdict, with the input it was computed from (the item and its agent's keys):
// a poll re-checks only what changed; the row's button re-checks regardless.
const evidenceChecks = new Map();
function checkEvidence(e, agents, force) {
  const input = JSON.stringify([e, agents.find((a) => a.id === e.agent) || null]);
  const last = evidenceChecks.get(e.id);
  if (!force && last && last.input === input) return last;
  let verdict;
  try {
    verdict = window.verifyEvidenceItem(e, { agents }, nacl, window.evidenceMsgpack);
  } catch (error) {
    verdict = { ok: false, reason: 'the checker failed: ' + error };
  }
  const check = { input, verdict, at: new Date(), count: (last ? last.count : 0) + 1 };
  evidenceChecks.set(e.id, check);
  return check;
}
function evidenceCell(e, agents, force) {
  const c = checkEvidence(e, agents, force);
  const v = c.verdict;
  return '<td class="check ' + (v.ok ? 'ok' : 'bad') + '" data-verified="' + v.ok + '" data-checks="' + c.count + '">'
    + (v.ok ? '✓ verified in this page<br><span class="muted">' + esc(v.summary) + '</span>' : '✗ ' + esc(v.reason))
    + '<br><span class="muted">checked ' + c.at.toLocaleTimeString() + '</span> <button data-check="' + e.id + '">check</button></td>';
}
let evidenceHtml = '';
function renderEvidence(g, force) {
  const agents = g.agents || [];
  const html = (g.evidence || []).map((e) => '<tr data-evidence="' + e.id + '"><td>' + e.id + '</td><td>' + esc(e.kind) + (e.source ? ' (' + esc(e.source) + ')' : '') + '</td><td>' + esc(e.agent) + '</td><td>' + esc(e.proposalId ?? '') + '</td><td>' + esc(e.recordedAt.sequence) + '</td>' + evidenceCell(e, agents, force === e.id) + '</tr>').join('');
  // Rewritten only when it changed, so a poll never replaces a button under the pointer.
  if (html !== evidenceHtml) document.querySelector('#evidence tbody').innerHTML = evidenceHtml = html;
}
function render(s) {
  latest = s;
  document.getElementById('meta').textContent = s.cluster.n + ' replicas (f = ' + s.cluster.f + '), observer: ' + (s.observer || 'none') + ', updated ' + new Date(s.at).toLocaleTimeString();
  document.querySelector('#replicas tbody').innerHTML = s.replicas.map((r) => r.up
    ? '<tr class="up" data-replica="' + r.id + '" data-state="up"><td>' + r.id + '</td><td class="state">up' + (r.changingView ? ' (changing view)' : '') + '</td><td>' + r.view + '</td><td>' + r.primary + '</td><td>' + r.executedSequence + '</td><td>' + r.stableCheckpoint + '</td><td>' + r.lag + '</td><td>' + r.viewChanges + '</td><td>' + kv(Object.assign({}, r.rejections, r.transportRejections)) + '</td><td>' + kv(r.agentRefusals) + '</td><td>' + mb(r.rssBytes) + '</td><td>' + mb(r.heapUsedBytes) + '</td></tr>'
    : '<tr class="down" data-replica="' + r.id + '" data-state="down"><td>' + r.id + '</td><td class="state">DOWN</td><td colspan="10">' + esc(r.error || '') + '</td></tr>').join('');
  const g = s.registry || {};
  document.getElementById('registry-note').innerHTML = (g.note && !g.proposals ? esc(g.note) : '') + (g.stale ? ' <span class="warn">' + esc(g.stale) + '</span>' : '');
  document.getElementById('council').textContent = g.council ? 'council: ' + g.council.members.join(', ') + ' (threshold ' + g.council.threshold + ')' : '';
  document.querySelector('#agents tbody').innerHTML = (g.agents || []).map((a) => '<tr data-agent="' + esc(a.id) + '"><td>' + esc(a.id) + (a.removed ? ' (removed)' : '') + '</td><td>' + (a.council ? 'council' : a.observer ? 'observer (read-only)' : 'agent') + '</td><td class="mono">' + (a.publicKey ? esc(a.publicKey.slice(0, 16)) + '…' : '—') + '</td><td class="mono">' + a.keys.map((k) => esc(k.publicKey.slice(0, 8)) + ' [' + k.from + ', ' + (k.until === null ? '∞' : k.until) + ')').join('<br>') + '</td><td>' + a.weight + '</td><td class="usage">' + usageCell(a, g.usage) + '</td><td class="refused">' + kv(refusalsOf(a.id, s.replicas)) + '</td></tr>').join('');
  renderEvidence(g);
  document.querySelector('#proposals tbody').innerHTML = (g.proposals || []).map((p) => {
    const t = p.tally;
    return '<tr data-proposal="' + esc(p.proposalId) + '" data-status="' + esc(p.status) + '"><td>' + esc(p.proposalId) + '</td><td>' + esc(p.title) + '</td><td>' + esc(p.status) + '</td><td>' + esc(p.phase) + (p.sealed ? ' (sealed: ' + p.sealed.committed.length + ' committed, ' + p.sealed.revealed.length + ' revealed)' : '') + '</td><td>approve ' + cc(t.approve) + '<br>reject ' + cc(t.reject) + '<br>abstain ' + cc(t.abstain) + '<br>pending ' + cc(t.pending) + (t.winner ? '<br>winner ' + esc(t.winner) : '') + '</td><td>' + t.excluded.map((x) => esc(x.agent) + ': ' + esc(x.reason) + (x.evidenceId === null ? '' : ' (evidence #' + x.evidenceId + ')')).join('<br>') + '</td><td>' + t.unrevealed.map((x) => esc(x.agent)).join(', ') + '</td></tr>';
  }).join('');
}
async function poll() {
  try {
    const r = await fetch('/api/state', { cache: 'no-store' });
    render(await r.json());
  } catch (e) {
    document.getElementById('meta').textContent = 'dashboard server unreachable: ' + e;
  }
  setTimeout(poll, 1000);
}
poll();
document.querySelector('#evidence tbody').addEventListener('click', (event) => {
  const id = event.target.dataset && event.target.dataset.check;
  if (id !== undefined && latest) renderEvidence(latest.registry || {}, Number(id));
});
document.getElementById('verify').addEventListener('click', () => {
  const out = document.getElementById('verdict');
  if (!latest) return;
  const keys = { replicas: latest.cluster.replicaKeys, agents: (latest.registry && latest.registry.agents) || [] };
  const v = window.verifyReceiptText(document.getElementById('receipt').value, keys, nacl);
  out.className = v.ok ? 'ok' : 'bad';
  out.dataset.valid = String(v.ok);
  out.textContent = v.ok
    ? 'VALID: request ' + v.requestId + ' of ' + v.agent + ', executed at sequence ' + v.sequence + ' (view ' + v.view + '), commits signed by replicas ' + v.signers.join(', ')
    : 'INVALID: ' + v.reason + (v.agent ? ' (request of ' + v.agent + ')' : '') + (v.signers && v.signers.length ? '; commits verified from replicas ' + v.signers.join(', ') : '');
});
</script>
</body>
</html>
`;
