/**
 * Prompt text as Midjourney needs it (SPEC §14): phones turn `--` into an em dash (or an en
 * dash); before a parameter name it becomes `--` again.
 */

/** `a cat —ar 16:9 –v 7` → `a cat --ar 16:9 --v 7`; dashes elsewhere stay. */
export function fixParameterDashes(prompt: string): string {
  return prompt.replace(/(^|\s)[\u2014\u2013]{1,2}(?=[A-Za-z])/g, '$1--');
}

/** The `--v` / `--version` a prompt asks for, or null. */
export function promptVersion(prompt: string): string | null {
  const m = /(?:^|\s)--(?:v|version)\s+(\d+(?:\.\d+)?)/i.exec(prompt);
  return m?.[1] ?? null;
}

/** True for a video prompt (`--video`). */
export function isVideoPrompt(prompt: string): boolean {
  return /(?:^|\s)--video\b/i.test(prompt);
}

/** The parameters of a video prompt (SPEC §14), to put after the start image and the text. */
export function videoParameters(opts: {
  motion: 'low' | 'high';
  endImageUrl?: string | undefined;
  loop?: boolean | undefined;
  batchSize?: number | undefined;
}): string {
  const parts = ['--video 1', `--motion ${opts.motion}`];
  if (opts.endImageUrl) parts.push(`--end ${opts.endImageUrl}`);
  else if (opts.loop) parts.push('--end loop');
  if (opts.batchSize) parts.push(`--bs ${opts.batchSize}`);
  return parts.join(' ');
}
