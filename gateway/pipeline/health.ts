/**
 * What the gateway has recently seen of each shard-store. A node that failed or lagged is
 * tried last for a while, so one frozen store does not cost every request a timeout.
 */
export class NodeHealth {
  private readonly until = new Map<string, number>();
  private readonly distrustedUntil = new Map<string, number>();
  private readonly lies = new Map<string, number>();

  constructor(private readonly penaltyMs = 15_000, private readonly distrustMs = 10 * 60_000) {}

  /** The node failed a request (refused, reset, timed out, bad data). */
  failed(nodeId: string, now = Date.now()): void {
    this.until.set(nodeId, now + this.penaltyMs);
  }

  /** The node was outrun by hedged requests: probably slow or frozen. */
  lagged(nodeId: string, now = Date.now()): void {
    this.until.set(nodeId, Math.max(this.until.get(nodeId) ?? 0, now + this.penaltyMs / 3));
  }

  /**
   * The node served a piece that passed its checksum but not the proof against the root
   * kept at write time: it lied. It is tried last for much longer, and answering quickly
   * (`ok`) does not lift that. True when it was not distrusted already.
   */
  lied(nodeId: string, now = Date.now()): boolean {
    this.lies.set(nodeId, (this.lies.get(nodeId) ?? 0) + 1);
    const fresh = (this.distrustedUntil.get(nodeId) ?? 0) <= now;
    this.distrustedUntil.set(nodeId, now + this.distrustMs);
    return fresh;
  }

  ok(nodeId: string): void {
    this.until.delete(nodeId);
  }

  isSuspect(nodeId: string, now = Date.now()): boolean {
    return this.rank(nodeId, now) > 0;
  }

  /**
   * Order of preference: 0 nothing against it, 1 failed or lagged lately, 2 caught lying.
   * A liar goes after nodes that are merely slow: under load many nodes lag at once.
   */
  rank(nodeId: string, now = Date.now()): 0 | 1 | 2 {
    if ((this.distrustedUntil.get(nodeId) ?? 0) > now) return 2;
    return (this.until.get(nodeId) ?? 0) > now ? 1 : 0;
  }

  /** Pieces each node was caught lying about since the gateway started. */
  liesSeen(): ReadonlyMap<string, number> {
    return this.lies;
  }
}
