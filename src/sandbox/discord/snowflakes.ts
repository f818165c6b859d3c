/** Increasing Discord-shaped ids for the fake's messages, interactions and attachments. */
export class SnowflakeSource {
  private last = 0n;

  next(): string {
    const now = (BigInt(Date.now()) - 1420070400000n) << 22n;
    this.last = now > this.last ? now : this.last + 1n;
    return String(this.last);
  }
}
