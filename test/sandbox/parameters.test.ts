import assert from 'node:assert/strict';
import { test } from 'node:test';
import { invalidParameter } from '../../src/sandbox/midjourney/parameters.ts';

test('the simulated Midjourney refuses the parameters the real one refuses', () => {
  const cases: [string, string | undefined][] = [
    ['a fox', undefined],
    ['a fox --ar 16:9 --v 6.1 --seed 42 --no trees', undefined],
    ['https://cdn.example/a.png a fox --iw 2 --niji 6 --style raw', undefined],
    ['a fox --ar banana', 'Invalid aspect ratio `banana`: use the form `--ar 16:9`'],
    ['a fox --aspect', 'Invalid aspect ratio ``: use the form `--ar 16:9`'],
    ['a fox --v 99', 'Invalid value `99` for `--v`'],
    ['a fox --foo 3 --bar', 'Unrecognized parameter(s): `--foo`, `--bar`'],
    ['a fox—with a dash in the middle', undefined],
  ];
  for (const [prompt, want] of cases) assert.equal(invalidParameter(prompt), want, prompt);
});
