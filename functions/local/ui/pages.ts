import { TRANSITION_KINDS } from '../../../shared/core';
import type { TagFilter } from '../../../shared/history';
import type { TagEffectView } from '../tag-effects';
import { digestView, documentOf, html, type Node, retryButton, timeView, uiHref } from './html';
import type {
  DriftListItem,
  DriftTimelineRow,
  EffectListItem,
  TagList,
  Timeline,
  TimelineEntry,
} from './queries';

export interface Session {
  csrf: string;
}

export function loginPage(problem: string | null): string {
  const body = html`<h1>Sign in</h1>
    <p>Enter the <code>api.token</code> of this Tagwarden's config. It is asked once; a cookie keeps the session.</p>
    ${problem && html`<p class="error" role="alert">${problem}</p>`}
    <form method="post" action="/ui/login">
      <label>Token <input type="password" name="token" autocomplete="current-password" required /></label>
      <button type="submit">Sign in</button>
    </form>`;
  return documentOf('Sign in', body, null);
}

export function messagePage(title: string, message: string, session: Session | null): string {
  return documentOf(
    title,
    html`<h1>${title}</h1><p>${message}</p><p><a href="/ui">Back to the tags</a></p>`,
    session,
  );
}

function transitionView(kind: string): Node {
  return html`<span class=${`t t-${kind}`}>${kind}</span>`;
}

function filterForm(filter: TagFilter): Node {
  return html`<form class="filters" method="get" action="/ui">
    <label>Registry <input name="registry" value=${filter.registryHost ?? ''} placeholder="registry.example.com" /></label>
    <label>Repository <input name="repository" value=${filter.repository ?? ''} placeholder="team/*" /></label>
    <label>Last transition
      <select name="transition">
        <option value="">any</option>
        ${TRANSITION_KINDS.map((t) => html`<option value=${t} selected=${filter.transition === t}>${t}</option>`)}
      </select>
    </label>
    <button type="submit">Filter</button>
  </form>`;
}

function tagTable(list: TagList): Node {
  if (list.tags.length === 0) return html`<p class="muted">No tag matches.</p>`;
  const rows = list.tags.map(
    (t) => html`<tr>
      <td class="ref"><a href=${uiHref('/ui/tag', t.tagRef)}>${t.tagRef}</a></td>
      <td>${digestView(t.digest)}</td>
      <td>${digestView(t.approvedDigest)}</td>
      <td>${transitionView(t.lastChange.transition)} ${timeView(t.lastChange.receivedAt)}
        <span class="muted">${t.lastChange.actor ?? ''}</span></td>
    </tr>`,
  );
  return html`<div class="scroll"><table id="tags">
    <thead><tr><th>Tag</th><th>Serves</th><th>Approved</th><th>Last change</th></tr></thead>
    <tbody>${rows}</tbody>
  </table></div>`;
}

function effectTable(id: string, effects: EffectListItem[], session: Session): Node {
  if (effects.length === 0) return html`<p class="muted">None.</p>`;
  const rows = effects.map(
    (e) => html`<tr>
      <td>${e.cluster ? `${e.kind} ${e.cluster}` : e.kind}</td>
      <td class="ref"><a href=${uiHref('/ui/tag', e.tagRef)}>${e.tagRef}</a></td>
      <td>${e.attempts}</td>
      <td class="error">${e.lastError ?? ''}</td>
      <td>${e.status === 'failed' ? retryButton(e.key, session.csrf) : timeView(e.nextAttemptAt)}</td>
    </tr>`,
  );
  return html`<div class="scroll"><table id=${id}>
    <thead><tr><th>Effect</th><th>Tag</th><th>Attempts</th><th>Last error</th><th></th></tr></thead>
    <tbody>${rows}</tbody>
  </table></div>`;
}

/** The open drift findings, each in the words of its alert (everything an agent reported is text here). */
function driftSection(findings: DriftListItem[]): Node {
  const rows = findings.map(
    (f) => html`<tr data-kind=${f.kind}>
      <td>${f.cluster}</td>
      <td>${transitionView(f.kind)}</td>
      <td class="finding">${f.text}</td>
      <td class="ref"><a href=${uiHref('/ui/tag', f.tagRef)}>${f.tagRef}</a></td>
      <td>${timeView(f.openedAt)}</td>
    </tr>`,
  );
  return html`<h2>Drift: what the clusters' pods run</h2>
    ${
      findings.length === 0
        ? html`<p class="muted">No open finding.</p>`
        : html`<div class="scroll"><table id="drift">
          <thead><tr><th>Cluster</th><th>Kind</th><th>Finding</th><th>Tag</th><th>Since</th></tr></thead>
          <tbody>${rows}</tbody>
        </table></div>`
    }`;
}

export interface OverviewData {
  list: TagList;
  pending: EffectListItem[];
  failed: EffectListItem[];
  drift: DriftListItem[] | null;
}

export function overviewPage(data: OverviewData, session: Session): string {
  const { list } = data;
  const filter: Record<string, string> = {};
  if (list.filter.registryHost) filter.registry = list.filter.registryHost;
  if (list.filter.repository) filter.repository = list.filter.repository;
  if (list.filter.transition) filter.transition = list.filter.transition;
  const body = html`<h1>Tags, most recently changed first</h1>
    ${filterForm(list.filter)} ${tagTable(list)}
    ${
      list.next !== null &&
      html`<p class="pager"><a rel="next" href=${uiHref('/ui', undefined, { ...filter, cursor: String(list.next) })}>Older changes →</a></p>`
    }
    <h2>Effects failed for good</h2>
    ${effectTable('failed', data.failed, session)}
    <h2>Effects pending</h2>
    ${effectTable('pending', data.pending, session)}
    ${data.drift && driftSection(data.drift)}`;
  return documentOf('Tags', body, session);
}

function effectItem(e: TagEffectView, session: Session): Node {
  const result = e.status === 'done' ? e.outcome : e.lastError;
  return html`<li class="effect" data-key=${e.key}>
    <span class=${`t ${e.status}`}>${e.status}</span> ${e.cluster ? `${e.kind} ${e.cluster}` : e.kind}
    <span class="muted">${e.attempts} attempt(s)</span> ${result && html`<span>${result}</span>`}
    ${e.status === 'failed' && retryButton(e.key, session.csrf)}
  </li>`;
}

function eventItem(e: TimelineEntry, session: Session): Node {
  return html`<li class="event" data-transition=${e.transition}>
    <div class="row">
      ${timeView(e.eventTime)} ${transitionView(e.transition)}
      <span>${e.action}</span> <span class="actor">${e.actor ?? 'unknown actor'}</span>
    </div>
    <div class="row digests">${digestView(e.previousDigest)} <span>→</span> ${digestView(e.digest)}</div>
    ${e.effects.length > 0 && html`<ul class="effects">${e.effects.map((x) => effectItem(x, session))}</ul>`}
  </li>`;
}

function driftItem(d: DriftTimelineRow): Node {
  return html`<li class="drift" data-drift=${d.change}>
    <div class="row">
      ${timeView(d.receivedAt)} ${transitionView(`drift-${d.change}`)}
      <span>${d.kind} ${d.change === 'opened' ? 'found' : 'cleared'} in cluster ${d.cluster}</span>
    </div>
    <div class="row">${d.text}</div>
  </li>`;
}

/** The tag's events and drift rows, newest first (drift rows by the time their report was received). */
function timelineItems(timeline: Timeline, session: Session): Node[] {
  const items: { at: string; node: Node }[] = [
    ...timeline.entries.map((e) => ({ at: e.eventTime, node: eventItem(e, session) })),
    ...timeline.drift.map((d) => ({ at: d.receivedAt, node: driftItem(d) })),
  ];
  return items.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).map((item) => item.node);
}

export function timelinePage(timeline: Timeline, session: Session): string {
  const items = timelineItems(timeline, session);
  const body = html`<h1>${timeline.tagRef}</h1>
    <p class="muted">Every recorded event, newest first, with the effects it caused.</p>
    <ol class="timeline">${items}</ol>
    ${
      timeline.otherEffects.length > 0 &&
      html`<h2>Other effects of this tag</h2><ul class="effects">${timeline.otherEffects.map((x) => effectItem(x, session))}</ul>`
    }
    ${
      timeline.next !== null &&
      html`<p class="pager"><a rel="next" href=${uiHref('/ui/tag', timeline.tagRef, { cursor: String(timeline.next) })}>Older events →</a></p>`
    }`;
  return documentOf(timeline.tagRef, body, session);
}
