/**
 * Looking inside a bench run (never part of its figures): with `BENCH_PROFILE=<dir>` the service
 * process a bench spawns writes a V8 CPU profile there (`--cpu-prof`); with `BENCH_CPU=1` a bench
 * prints the CPU time the service and the bench process used, to stderr.
 */
import { readFileSync } from 'node:fs';

/** Node flags for a spawned service process. */
export function profiledArgs(): string[] {
  const dir = process.env.BENCH_PROFILE;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** Prints the CPU seconds of the service process `pid` and of this process (with `BENCH_CPU`). */
export function reportCpu(label: string, pid: number | undefined): void {
  if (!process.env.BENCH_CPU || pid === undefined) return;
  let service = Number.NaN;
  try {
    // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), in clock ticks of 10 ms.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    service = (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    // the process is gone
  }
  const own = process.cpuUsage();
  process.stderr.write(
    `${label}: CPU service ${service.toFixed(1)} s, bench process ${((own.user + own.system) / 1e6).toFixed(1)} s\n`,
  );
}
