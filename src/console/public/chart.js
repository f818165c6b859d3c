// The dashboard's hour chart: one stacked bar per minute (finished below, failed above), as
// inline SVG with a text summary for screen readers.
const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** `minutes`: [{at, finished, failed}] oldest first. */
export function hourChart(minutes, summary) {
  const width = 900;
  const height = 120;
  const max = Math.max(1, ...minutes.map((m) => m.finished + m.failed));
  const bar = width / minutes.length;
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height + 16}`,
    class: 'chart',
    role: 'img',
    'aria-label': summary,
  });
  const title = svg('title', {});
  title.textContent = summary;
  root.append(title);
  root.append(svg('line', { x1: 0, y1: height, x2: width, y2: height, class: 'axis' }));
  minutes.forEach((m, i) => {
    const x = i * bar + 1;
    const hOk = (m.finished / max) * (height - 4);
    const hFail = (m.failed / max) * (height - 4);
    if (hOk > 0) root.append(svg('rect', { x, y: height - hOk, width: bar - 2, height: hOk, class: 'ok' }));
    if (hFail > 0)
      root.append(svg('rect', { x, y: height - hOk - hFail, width: bar - 2, height: hFail, class: 'fail' }));
  });
  for (const [i, label] of [
    [0, '-60 min'],
    [30, '-30 min'],
    [59, 'now'],
  ]) {
    const t = svg('text', { x: i * bar + (i === 59 ? bar : 0), y: height + 13, class: 'tick' });
    if (i === 59) t.setAttribute('text-anchor', 'end');
    t.textContent = label;
    root.append(t);
  }
  return root;
}
