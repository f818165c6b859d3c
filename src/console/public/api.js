// The console's own JSON API. Every action carries the x-mjb-console header, which a page of
// another site cannot send, and the session cookie goes along by itself (same origin).

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(method, path, body) {
  const init = { method, headers: { accept: 'application/json' }, credentials: 'same-origin' };
  if (method !== 'GET') {
    init.headers['content-type'] = 'application/json';
    init.headers['x-mjb-console'] = '1';
    init.body = JSON.stringify(body ?? {});
  }
  let res;
  try {
    res = await fetch(`/console/api/${path}`, init);
  } catch {
    throw new ApiError(0, 'the service does not answer');
  }
  let answer = null;
  try {
    answer = await res.json();
  } catch {
    throw new ApiError(res.status, `unexpected answer (${res.status})`);
  }
  if (!res.ok) {
    if (res.status === 401 && path !== 'signin') window.dispatchEvent(new CustomEvent('mjb:signin'));
    throw new ApiError(res.status, answer?.msg ?? `error ${res.status}`);
  }
  return answer.data;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body);
