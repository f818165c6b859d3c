/**
 * The readable fail reason of a submission error (SPEC §6.8), and whether it disables the account.
 */
export function failReasonOf(err: unknown): { text: string; disable?: string } {
  const e = err as { code?: unknown; status?: unknown; message?: unknown; failReason?: unknown };
  if (typeof e.failReason === 'string') return { text: e.failReason };
  if (typeof e.status === 'number') {
    if (e.status === 404 && e.code === 10008)
      return { text: 'the message of this button is no longer on Discord (10008 Unknown Message)' };
    if (e.status === 401) return { text: 'account unavailable: token invalid', disable: 'token invalid' };
    if (e.status === 403)
      return { text: 'account unavailable: no access to channel', disable: 'no access to channel' };
    return { text: `discord rejected the interaction: ${e.status} ${String(e.message)} (${String(e.code)})` };
  }
  return { text: typeof e.message === 'string' ? e.message : String(err) };
}

/** Discord's refusal as one line: `400 Invalid Form Body: Component validation failed (50035)`. */
export function describeRefusal(err: unknown): string {
  const e = err as { status?: unknown; code?: unknown; message?: unknown };
  if (typeof e.status === 'number') return `${e.status} ${String(e.message)} (${String(e.code)})`;
  return typeof e.message === 'string' ? e.message : String(err);
}
