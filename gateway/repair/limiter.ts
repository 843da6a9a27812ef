import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Bytes-per-second limit on repair traffic (pieces read plus pieces written), so rebuilding
 * after a lost node never starves client requests of the shard-stores' disks and links.
 * Debt-based: a caller takes what it needs at once and sleeps until the debt is paid, with up
 * to one second of unused allowance kept as burst. A rate of 0 means no limit.
 */
export class RateLimiter {
  private next = 0;

  constructor(private bytesPerSecond: number, private readonly burstMs = 1_000) {}

  get rate(): number {
    return this.bytesPerSecond;
  }

  setRate(bytesPerSecond: number): void {
    this.bytesPerSecond = bytesPerSecond;
  }

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.bytesPerSecond <= 0 || bytes <= 0) return;
    const now = Date.now();
    this.next = Math.max(this.next, now - this.burstMs) + (bytes / this.bytesPerSecond) * 1000;
    const wait = this.next - now;
    if (wait > 0) await sleep(wait, undefined, { signal });
  }
}
