/**
 * The `/mj` front: the API of the novicezk / mj-plus ecosystem (new-api, Dooy's web client, …)
 * over the same engine and tasks (SPEC §12).
 */
export { type CompatMount, type CompatOptions, createCompatMount, type MountContext } from './router.ts';
export { type CompatTask, compatTask } from './view.ts';
