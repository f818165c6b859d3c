/**
 * The task actions of SPEC §4. The name is what the API and the task JSON show.
 */
export const ACTIONS = [
  'IMAGINE',
  'DESCRIBE',
  'BLEND',
  'UPSCALE',
  'VARIATION',
  'REROLL',
  'VARIATION_STRONG',
  'VARIATION_SUBTLE',
  'VARIATION_REGION',
  'ZOOMOUT',
  'MAKE_SQUARE',
  'ZOOMOUT_CUSTOM',
  'PANLEFT',
  'PANRIGHT',
  'PANUP',
  'PANDOWN',
  'UPSCALE_V5_2X',
  'UPSCALE_V5_4X',
  'UPSCALE_V6_2X_SUBTLE',
  'UPSCALE_V6_2X_CREATIVE',
  'PIC_READER',
  'CANCEL_JOB',
  'SHORTEN',
  'VIDEO',
  'VIDEO_EXTEND',
  'VIDEO_UPSCALE',
] as const;

export type Action = (typeof ACTIONS)[number];

/** Actions started by a button on a finished task (everything but the three slash commands). */
export function isFollowUp(action: Action): boolean {
  return action !== 'IMAGINE' && action !== 'DESCRIBE' && action !== 'BLEND' && action !== 'SHORTEN';
}

/** Actions whose image result is Midjourney's 2×2 grid of four pictures (SPEC §6.7.2). */
export const GRID_ACTIONS: ReadonlySet<Action> = new Set<Action>([
  'IMAGINE',
  'BLEND',
  'VARIATION',
  'REROLL',
  'VARIATION_STRONG',
  'VARIATION_SUBTLE',
  'VARIATION_REGION',
  'ZOOMOUT',
  'MAKE_SQUARE',
  'ZOOMOUT_CUSTOM',
  'PANLEFT',
  'PANRIGHT',
  'PANUP',
  'PANDOWN',
  'PIC_READER',
]);

/** What the grid rule reads of a finished result; the engine's task has these fields. */
export interface ResultShape {
  action: Action;
  videoUrl: string | null;
  videoUrls: readonly unknown[];
}

/**
 * True when a finished result's image is a 2×2 grid, to be split into its four quadrants. The
 * action decides, never the buttons: a V8/V8.1 grid has no U1–U4 (SPEC §14). A result that
 * carries a video is not a grid whatever its action, since its image is a frame of the video.
 */
export function isGridResult(result: ResultShape): boolean {
  return GRID_ACTIONS.has(result.action) && !result.videoUrl && result.videoUrls.length === 0;
}
