// Small DOM helpers: elements are built with text nodes only (no innerHTML), so nothing a task
// carries (prompts, reasons) can become markup.

/**
 * Creates an element. `attrs` keys starting with "on" add listeners; `class`, `for`, boolean
 * and data-/aria- attributes are set as given; null/false values are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** "2026-12-01 23:40:05" in the browser's time zone, from unix seconds. */
export function when(seconds) {
  if (!seconds) return '—';
  const d = new Date(seconds * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The picture that best stands for a task in a list: its thumbnail, else its image. */
export function thumbOf(task) {
  return task.thumbnailUrl || task.imageUrls?.[0]?.thumbnail || task.imageUrl || null;
}

/** A task's progress as shown to a person. */
export function progressText(task) {
  if (task.status === 'FINISHED') return 'done';
  if (task.status === 'FAILED') return 'failed';
  if (task.status === 'PENDING') return task.queuePosition ? `queued #${task.queuePosition}` : 'queued';
  return task.progress ?? task.status.toLowerCase();
}
