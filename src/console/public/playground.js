// Playground: a prompt (plus the parameters this browser remembers), images by picking or
// dropping them, and imagine / blend / describe; the new task's live page opens at once.
import { post } from './api.js';
import { fill, h } from './dom.js';

const MAX_IMAGES = 5;
const PARAMS_KEY = 'mjb.params';

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error ?? new Error('could not read the file'));
    r.readAsDataURL(file);
  });
}

export function renderPlayground(main, { session, navigate }) {
  const canAct = session.access === 'full';
  const images = [];
  const prompt = h('textarea', {
    id: 'prompt',
    name: 'prompt',
    rows: 4,
    maxlength: 8192,
    placeholder: 'a lighthouse at dusk, oil painting',
  });
  const params = h('input', {
    id: 'params',
    name: 'params',
    type: 'text',
    placeholder: '--ar 3:2 --v 7',
    'aria-describedby': 'params-hint',
    value: localStorage.getItem(PARAMS_KEY) ?? '',
  });
  const file = h('input', {
    id: 'images',
    type: 'file',
    accept: 'image/*',
    multiple: true,
    class: 'visually-hidden',
  });
  const chosen = h('ul', { class: 'chosen', 'aria-label': 'Chosen images' });
  const dims = h(
    'select',
    { id: 'dimensions', name: 'dimensions' },
    h('option', { value: '' }, 'default'),
    ['SQUARE', 'PORTRAIT', 'LANDSCAPE'].map((d) => h('option', { value: d }, d.toLowerCase())),
  );
  const message = h('p', { class: 'error', role: 'alert', id: 'playground-error' });

  const drawChosen = () => {
    fill(
      chosen,
      images.map((im, i) =>
        h(
          'li',
          {},
          h('img', { src: im.url, alt: im.name }),
          h(
            'button',
            {
              type: 'button',
              class: 'quiet',
              'aria-label': `Remove ${im.name}`,
              onclick: () => {
                images.splice(i, 1);
                drawChosen();
              },
            },
            '×',
          ),
        ),
      ),
    );
  };

  const add = async (files) => {
    message.textContent = '';
    for (const f of files) {
      if (!f.type.startsWith('image/')) {
        message.textContent = `${f.name} is not an image`;
        continue;
      }
      if (images.length >= MAX_IMAGES) {
        message.textContent = `at most ${MAX_IMAGES} images`;
        break;
      }
      images.push({ name: f.name, url: await readAsDataUrl(f) });
    }
    drawChosen();
  };
  file.addEventListener('change', () =>
    add([...file.files]).finally(() => {
      file.value = '';
    }),
  );

  const drop = h(
    'div',
    {
      class: 'drop',
      id: 'drop',
      ondragover: (e) => {
        e.preventDefault();
        drop.classList.add('over');
      },
      ondragleave: () => drop.classList.remove('over'),
      ondrop: (e) => {
        e.preventDefault();
        drop.classList.remove('over');
        add([...(e.dataTransfer?.files ?? [])]);
      },
    },
    h('label', { for: 'images', class: 'button' }, 'Choose images'),
    h('span', { class: 'muted' }, ' or drop them here (up to 5)'),
    file,
  );

  const submit = async (what) => {
    message.textContent = '';
    localStorage.setItem(PARAMS_KEY, params.value.trim());
    const urls = images.map((im) => im.url);
    let body;
    if (what === 'imagine') body = { prompt: `${prompt.value} ${params.value}`.trim(), images: urls };
    else if (what === 'blend') body = { images: urls, ...(dims.value ? { dimensions: dims.value } : {}) };
    else body = { images: urls };
    let problem = '';
    if (what === 'imagine' && !prompt.value.trim()) problem = 'Write a prompt first.';
    if (what === 'blend' && (urls.length < 2 || urls.length > 5)) problem = 'Blend needs 2 to 5 images.';
    if (what === 'describe' && urls.length !== 1) problem = 'Describe needs exactly one image.';
    if (problem) {
      message.textContent = problem;
      return;
    }
    for (const b of buttons) b.disabled = true;
    try {
      const task = await post(what, body);
      navigate(`/console/task/${task.id}`);
    } catch (err) {
      message.textContent = err.message;
      for (const b of buttons) b.disabled = !canAct;
    }
  };
  const buttons = [
    h('button', { type: 'submit', disabled: !canAct }, 'Imagine'),
    h('button', { type: 'button', disabled: !canAct, onclick: () => submit('blend') }, 'Blend'),
    h('button', { type: 'button', disabled: !canAct, onclick: () => submit('describe') }, 'Describe'),
  ];
  const form = h(
    'form',
    {
      class: 'card',
      onsubmit: (e) => {
        e.preventDefault();
        submit('imagine');
      },
    },
    h('label', { for: 'prompt' }, 'Prompt'),
    prompt,
    h('label', { for: 'params' }, 'Parameters'),
    h('span', { class: 'muted', id: 'params-hint' }, 'added to every prompt; this browser remembers them'),
    params,
    h('span', { class: 'label' }, 'Images (image prompts, blend or describe)'),
    drop,
    chosen,
    h('label', { for: 'dimensions' }, 'Blend shape'),
    dims,
    h('div', { class: 'actions' }, buttons),
    message,
  );
  prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });
  fill(
    main,
    h('h1', {}, 'Playground'),
    canAct
      ? null
      : h('p', { class: 'notice' }, 'Read-only from this address: set a secret or console.open to act here.'),
    form,
  );
  prompt.focus();
  return null;
}
