// Dashboard: every account's state at a glance, the queue, and the last hour's jobs.
import { get } from './api.js';
import { hourChart } from './chart.js';
import { fill, h } from './dom.js';
import { subscribe, throttle } from './live.js';

function fastTime(a) {
  const v = a.fastTimeRemaining;
  if (v === undefined || v === null) return '—';
  if (typeof v === 'number') return `${Math.round(v * 100) / 100} h`;
  return String(v);
}

function reason(a) {
  if (a.pausedUntil) {
    // unix seconds, unix ms or an ISO string: whichever the engine reports
    const v = a.pausedUntil;
    const d = new Date(typeof v === 'number' && v < 1e12 ? v * 1000 : v);
    return `${a.reason ?? 'paused'} (until ${Number.isNaN(d.getTime()) ? v : d.toLocaleString()})`;
  }
  return a.reason ?? '—';
}

function plan(a) {
  return [a.mode, a.subscription].filter(Boolean).join(' · ') || '—';
}

function accountRows(accounts) {
  return accounts.map((a) =>
    h(
      'tr',
      { 'data-account': a.id },
      h('th', { scope: 'row' }, a.id),
      h('td', {}, h('span', { class: `badge state-${a.state}` }, a.state)),
      h('td', {}, reason(a)),
      h('td', { class: 'num' }, a.running),
      h('td', { class: 'num' }, a.queued),
      h('td', {}, fastTime(a)),
      h('td', {}, plan(a)),
    ),
  );
}

export async function renderDashboard(main) {
  const body = h('div', {});
  fill(main, h('h1', {}, 'Dashboard'), body);
  const draw = (o) => {
    const { health, stats } = o;
    const rate = stats.failureRate === null ? '—' : `${Math.round(stats.failureRate * 1000) / 10}%`;
    const summary = `${stats.jobsPerMinute} jobs per minute, failure rate ${rate} over the last hour`;
    fill(
      body,
      h(
        'section',
        { class: 'tiles', 'aria-label': 'Service' },
        h(
          'div',
          { class: 'tile' },
          h('span', { class: 'k' }, 'Status'),
          h('span', { class: `v status-${health.status}`, id: 'service-status' }, health.status),
        ),
        h(
          'div',
          { class: 'tile' },
          h('span', { class: 'k' }, 'Mode'),
          h('span', { class: 'v' }, health.mode),
        ),
        h(
          'div',
          { class: 'tile' },
          h('span', { class: 'k' }, 'Queue'),
          h('span', { class: 'v', id: 'queue-length' }, health.queue),
        ),
        h(
          'div',
          { class: 'tile' },
          h('span', { class: 'k' }, 'Jobs / min'),
          h('span', { class: 'v' }, stats.jobsPerMinute),
        ),
        h(
          'div',
          { class: 'tile' },
          h('span', { class: 'k' }, 'Failure rate'),
          h('span', { class: 'v' }, rate),
        ),
      ),
      h('h2', {}, 'Accounts'),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { id: 'accounts' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Account', 'State', 'Reason', 'Running', 'Queued', 'Fast time', 'Mode'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h('tbody', {}, accountRows(health.accounts)),
        ),
      ),
      h('h2', {}, 'Last hour'),
      h('figure', { class: 'card' }, hourChart(stats.minutes, summary), h('figcaption', {}, summary)),
    );
  };
  draw(await get('overview'));
  const refresh = throttle(() => {
    get('overview').then(draw, () => undefined);
  }, 1000);
  const off = subscribe(refresh);
  const timer = setInterval(refresh, 30_000);
  return () => {
    off();
    clearInterval(timer);
  };
}
