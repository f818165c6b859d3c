// Sign-in: one password field labelled "Secret"; the service sets an HttpOnly session cookie.
import { post } from './api.js';
import { fill, h } from './dom.js';

export function renderSignIn(main, { onSignedIn }) {
  const input = h('input', {
    id: 'secret',
    name: 'secret',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const message = h('p', { class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'card narrow',
      onsubmit: async (e) => {
        e.preventDefault();
        button.disabled = true;
        message.textContent = '';
        try {
          await post('signin', { secret: input.value });
          input.value = '';
          await onSignedIn?.();
        } catch (err) {
          message.textContent = err.status === 401 ? 'Wrong secret.' : err.message;
          input.select();
        } finally {
          button.disabled = false;
        }
      },
    },
    h('label', { for: 'secret' }, 'Secret'),
    input,
    button,
    message,
  );
  fill(
    main,
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'This console is protected by the service secret.'),
    form,
  );
  input.focus();
  return null;
}
