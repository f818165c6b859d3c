/**
 * The prompt parameters the simulated Midjourney accepts, so that a prompt the real one refuses
 * (`--ar banana`, `--foo`) is refused here too, with Midjourney's "Invalid parameter" wording.
 */

const KNOWN = new Set([
  'ar',
  'aspect',
  'chaos',
  'c',
  'no',
  'q',
  'quality',
  'r',
  'repeat',
  'seed',
  'sameseed',
  'stop',
  'style',
  's',
  'stylize',
  'tile',
  'iw',
  'niji',
  'v',
  'version',
  'weird',
  'w',
  'fast',
  'relax',
  'turbo',
  'raw',
  'p',
  'profile',
  'sref',
  'cref',
  'sw',
  'cw',
  'sv',
  'oref',
  'ow',
  'exp',
  'draft',
  'video',
  'motion',
  'loop',
  'end',
  'bs',
  'zoom',
  'hd',
  'test',
  'testp',
  'uplight',
  'upbeta',
]);

const VERSIONS = new Set(['1', '2', '3', '4', '5', '5.0', '5.1', '5.2', '6', '6.0', '6.1', '7', '8', '8.1']);

/** Why Midjourney would refuse the prompt's parameters, or undefined when it accepts them. */
export function invalidParameter(prompt: string): string | undefined {
  const unknown: string[] = [];
  for (const m of prompt.matchAll(/(?:^|\s)--([A-Za-z_]+)(?:\s+([^\s-]\S*))?/g)) {
    const name = (m[1] ?? '').toLowerCase();
    const value = m[2];
    if (!KNOWN.has(name)) {
      unknown.push(`\`--${m[1]}\``);
      continue;
    }
    if ((name === 'ar' || name === 'aspect') && !/^\d+:\d+$/.test(value ?? ''))
      return `Invalid aspect ratio \`${value ?? ''}\`: use the form \`--ar 16:9\``;
    if ((name === 'v' || name === 'version') && !VERSIONS.has(value ?? ''))
      return `Invalid value \`${value ?? ''}\` for \`--${name}\``;
  }
  return unknown.length > 0 ? `Unrecognized parameter(s): ${unknown.join(', ')}` : undefined;
}
