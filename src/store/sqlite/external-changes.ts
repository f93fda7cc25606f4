/**
 * Notices commits made to the SQLite file by other connections (another worker process, the CLI):
 * SQLite's `data_version` changes when, and only when, another connection commits. Checked on a
 * timer while the store has listeners; a change is reported once per check.
 */

/** How often the version is checked while running. */
const CHECK_MS = 100;

/** Calls `changed` after another connection committed (see the module comment). */
export class ExternalChanges {
  private timer: NodeJS.Timeout | undefined;
  private version: number | undefined;

  constructor(
    /** Reads `PRAGMA data_version`; throws when the connection is busy or closed. */
    private readonly read: () => number,
    private readonly changed: () => void,
  ) {}

  /** Starts checking (idempotent). */
  start(): void {
    if (this.timer) return;
    this.version = this.read();
    this.timer = setInterval(() => this.check(), CHECK_MS);
    this.timer.unref();
  }

  /** Stops checking. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    let version: number;
    try {
      version = this.read();
    } catch {
      return; // busy or closing: the next check sees the change
    }
    if (version === this.version) return;
    this.version = version;
    this.changed();
  }
}
