// One Server-Sent Events stream per browser tab, shared by every page of the console. The
// browser reconnects by itself and sends the last event id, so the service replays what was
// missed; when it cannot (restart, too long away) it sends "reset" and pages reload their data.

const listeners = new Set();
let source = null;
let opened = false;
let retry = null;

function status(text, state) {
  const el = document.getElementById('live');
  if (!el) return;
  el.textContent = text;
  el.dataset.state = state;
}

function emit(event) {
  for (const fn of listeners) fn(event);
}

function open() {
  source = new EventSource('/console/api/events');
  source.addEventListener('hello', () => {
    status('live', 'on');
    // A new stream after a closed one has no replay: pages refresh fully.
    if (opened) emit({ type: 'reset' });
    opened = true;
  });
  source.addEventListener('open', () => status('live', 'on'));
  source.addEventListener('task', (e) => emit({ type: 'task', task: JSON.parse(e.data) }));
  source.addEventListener('account', (e) => emit({ type: 'account', account: JSON.parse(e.data) }));
  source.addEventListener('reset', () => emit({ type: 'reset' }));
  source.addEventListener('error', () => {
    status('reconnecting…', 'off');
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (the service was away, or refused): start over a little later.
      source = null;
      clearTimeout(retry);
      retry = setTimeout(open, 3000);
    }
  });
}

/** Starts the stream (once). */
export function startLive() {
  if (!source) open();
}

/** Calls `fn` with every live event until the returned function is called. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Runs `fn` at most once per `ms`, the last call winning (for refreshes on bursts of events). */
export function throttle(fn, ms) {
  let timer = null;
  let again = false;
  return () => {
    if (timer) {
      again = true;
      return;
    }
    fn();
    timer = setTimeout(function tick() {
      timer = null;
      if (again) {
        again = false;
        fn();
        timer = setTimeout(tick, ms);
      }
    }, ms);
  };
}
