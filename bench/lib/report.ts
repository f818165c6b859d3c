/** Markdown tables for the bench scripts: the figure, the baseline from the same run, the ratio. */
export interface Row {
  what: string;
  figure: string;
  baseline: string;
  ratio: string;
  target: string;
  met: boolean | null;
}

export function table(rows: Row[]): string {
  const head = '| what | figure | baseline (same run) | ratio | target | met |\n|---|---|---|---|---|---|';
  const body = rows
    .map(
      (r) =>
        `| ${r.what} | ${r.figure} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.met === null ? '—' : r.met ? 'yes' : 'no'} |`,
    )
    .join('\n');
  return `${head}\n${body}`;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
