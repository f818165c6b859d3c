// The console's shell: asks who we are, then routes between the pages without reloading.
import { ApiError, get, post } from './api.js';
import { renderDashboard } from './dashboard.js';
import { fill, h } from './dom.js';
import { renderGallery } from './gallery.js';
import { startLive } from './live.js';
import { renderPlayground } from './playground.js';
import { renderSignIn } from './signin.js';
import { renderTask } from './task.js';

const main = document.getElementById('main');
let cleanup = null;
let session = null;

const ROUTES = [
  [/^\/(console\/?|console\/dashboard\/?)?$/, 'dashboard', renderDashboard],
  [/^\/console\/gallery\/?$/, 'gallery', renderGallery],
  [/^\/console\/playground\/?$/, 'playground', renderPlayground],
  [/^\/console\/task\/(\d+)\/?$/, 'task', renderTask],
  [/^\/console\/signin\/?$/, 'signin', renderSignIn],
];

/** Goes to a console path (pushes history unless `replace`). */
export function navigate(path, replace = false) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  show();
}

async function show() {
  if (cleanup) cleanup();
  cleanup = null;
  const path = location.pathname;
  const match = ROUTES.find(([re]) => re.test(path));
  const ctx = { session, navigate, params: new URLSearchParams(location.search) };
  if (!session || (session.access === 'none' && match?.[1] !== 'signin')) {
    return show401();
  }
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.nav === match?.[1]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!match) {
    fill(main, h('h1', {}, 'Not found'), h('p', {}, 'No console page at ', path, '.'));
    return;
  }
  const [re, , render] = match;
  const arg = re.exec(path)?.[1];
  // The page left behind must not be mistaken for the one that is loading.
  fill(main, h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  try {
    cleanup = (await render(main, ctx, arg)) ?? null;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return show401();
    fill(main, h('h1', {}, 'Something went wrong'), h('p', { role: 'alert' }, err.message));
  }
}

async function show401() {
  session = await get('session').catch(() => null);
  if (session && session.access !== 'none') return show();
  document.getElementById('signout').hidden = true;
  cleanup = renderSignIn(main, {
    onSignedIn: async () => {
      await refreshSession();
      show();
    },
  });
}

async function refreshSession() {
  session = await get('session');
  document.body.dataset.access = session.access;
  document.getElementById('signout').hidden = !session.secret || session.access === 'none';
  if (session.access !== 'none') startLive();
}

document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a[href]') : null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !(url.pathname === '/' || url.pathname.startsWith('/console')))
    return;
  if (url.pathname.startsWith('/console/api/') || url.pathname.startsWith('/console/assets/')) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
  main.focus();
});
window.addEventListener('popstate', show);
window.addEventListener('mjb:signin', () => {
  if (session?.access !== 'none') {
    session = null;
    show401();
  }
});
document.getElementById('signout').addEventListener('click', async () => {
  await post('signout').catch(() => undefined);
  location.assign('/');
});

refreshSession()
  .catch(() => {
    session = null;
  })
  .then(show);
