/**
 * "Grid as album" (SPEC §15): a finished grid as an album of its four images (`sendMediaGroup`,
 * photos), then one message with the buttons, since an album cannot carry a keyboard. The four
 * images are the task's stored `imageUrls` when the engine has them, else the grid cut in four.
 */
import sharp from 'sharp';
import type { Task } from '../engine/task.ts';
import type { FrontContext } from './context.ts';
import { fetchBytes } from './media.ts';

const IMAGE_MAX = 10 * 1024 * 1024;

/** The grid cut into its four quarters (top left, top right, bottom left, bottom right). */
export async function cutGrid(grid: Buffer): Promise<Buffer[]> {
  const meta = await sharp(grid).metadata();
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w < 2 || h < 2) throw new Error('grid too small to cut');
  const half = { width: Math.floor(w / 2), height: Math.floor(h / 2) };
  const corners = [
    [0, 0],
    [half.width, 0],
    [0, half.height],
    [half.width, half.height],
  ] as const;
  return Promise.all(
    corners.map(([left, top]) =>
      sharp(grid)
        .extract({ left, top, ...half })
        .png()
        .toBuffer(),
    ),
  );
}

/** The four images of a grid, from the stored images or cut from the grid's bytes. */
export async function gridImages(ctx: FrontContext, task: Task, grid: Buffer): Promise<Buffer[]> {
  if (task.imageUrls.length === 4) {
    try {
      return await Promise.all(
        task.imageUrls.map(
          async (img) =>
            (await fetchBytes(img.url, { maxBytes: IMAGE_MAX, timeoutMs: ctx.timing.downloadTimeoutMs }))
              .bytes,
        ),
      );
    } catch (err) {
      ctx.logger.debug(
        { task: task.id, err: (err as Error).message },
        'stored images not fetched; cutting the grid',
      );
    }
  }
  return cutGrid(grid);
}
