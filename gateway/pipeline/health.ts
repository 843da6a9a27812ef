/**
 * What the gateway has recently seen of each shard-store. A node that failed or lagged is
 * tried last for a while, so one frozen store does not cost every request a timeout.
 */
export class NodeHealth {
  private readonly until = new Map<string, number>();

  constructor(private readonly penaltyMs = 15_000) {}

  /** The node failed a request (refused, reset, timed out, bad data). */
  failed(nodeId: string, now = Date.now()): void {
    this.until.set(nodeId, now + this.penaltyMs);
  }

  /** The node was outrun by hedged requests: probably slow or frozen. */
  lagged(nodeId: string, now = Date.now()): void {
    this.until.set(nodeId, Math.max(this.until.get(nodeId) ?? 0, now + this.penaltyMs / 3));
  }

  ok(nodeId: string): void {
    this.until.delete(nodeId);
  }

  isSuspect(nodeId: string, now = Date.now()): boolean {
    const t = this.until.get(nodeId);
    return t !== undefined && t > now;
  }
}
