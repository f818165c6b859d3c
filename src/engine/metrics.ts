/**
 * Prometheus series of SPEC §9 that the engine moves. The HTTP front serves the registry; the
 * Telegram front adds its own series to the same registry.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface EngineMetrics {
  registry: Registry;
  tasks: Counter<'action' | 'status'>;
  taskDuration: Histogram<'action' | 'status'>;
  queueLength: Gauge;
  accounts: Gauge<'state'>;
  gatewayReconnects: Counter<'kind'>;
  restCalls: Counter<'method' | 'status'>;
  unmatchedMessages: Counter;
  callbacks: Counter<'result'>;
}

/** A fresh registry with the engine's series (one per engine, so tests never share counters). */
export function createMetrics(opts: { defaults?: boolean } = {}): EngineMetrics {
  const registry = new Registry();
  if (opts.defaults) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    tasks: new Counter({
      name: 'mjb_tasks_total',
      help: 'Tasks that reached a final status, by action and status',
      labelNames: ['action', 'status'],
      registers,
    }),
    taskDuration: new Histogram({
      name: 'mjb_task_duration_seconds',
      help: 'Time from submission to final status',
      labelNames: ['action', 'status'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600],
      registers,
    }),
    queueLength: new Gauge({ name: 'mjb_queue_length', help: 'Tasks waiting for an account', registers }),
    accounts: new Gauge({
      name: 'mjb_accounts',
      help: 'Discord accounts by state',
      labelNames: ['state'],
      registers,
    }),
    gatewayReconnects: new Counter({
      name: 'mjb_gateway_reconnects_total',
      help: 'Gateway reconnections, by kind (resume or identify)',
      labelNames: ['kind'],
      registers,
    }),
    restCalls: new Counter({
      name: 'mjb_discord_rest_calls_total',
      help: 'Discord REST calls by method and HTTP status (429 included)',
      labelNames: ['method', 'status'],
      registers,
    }),
    unmatchedMessages: new Counter({
      name: 'mjb_unmatched_messages_total',
      help: 'Midjourney messages in our channels that matched no task',
      registers,
    }),
    callbacks: new Counter({
      name: 'mjb_callbacks_total',
      help: 'notifyUrl deliveries by result',
      labelNames: ['result'],
      registers,
    }),
  };
}
