/**
 * The abort switch of one running activity. Most activities never look at `ctx.signal`, so the
 * `AbortController` behind it is made only when someone asks for the signal; an abort that came
 * first is applied to it at once.
 */
export class LazyAbort {
  private controller: AbortController | undefined;
  private reason: unknown;
  private done = false;

  /** True once `abort` was called. */
  get aborted(): boolean {
    return this.done;
  }

  /** Aborts (once): the signal, if made, fires with `reason`. */
  abort(reason: unknown): void {
    if (this.done) return;
    this.done = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  /** The signal, made on first use (already aborted if `abort` came first). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.done) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}
