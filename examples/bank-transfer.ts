/**
 * A bank transfer inside a critical section. Each account is an entity holding its balance; a
 * transfer locks both accounts, reads both balances, and writes both back. While it holds the
 * locks, nobody else operates on those accounts, so two transfers can never interleave their
 * reads and writes and lose an update. Locks are taken in one global order, so transfers that
 * lock the same accounts in opposite directions never deadlock; they are released when the
 * orchestration releases them, and also if it fails or is terminated.
 */
import { EntityId, type EntityRef, type OrchestratorRef, type TaskHub } from "refrain";

/** Input of a transfer. */
export interface TransferRequest {
  from: string;
  to: string;
  amount: number;
}

/** Outcome of a transfer. */
export interface TransferResult {
  status: "Transferred" | "InsufficientFunds";
  fromBalance: number;
  toBalance: number;
}

/** The functions this example registers. */
export interface BankExample {
  /** Entity: an account balance (new accounts open with 100); operations get, set, deposit. */
  account: EntityRef<number>;
  /** Orchestrator: moves money between two accounts inside a critical section. */
  transfer: OrchestratorRef<TransferRequest, TransferResult>;
}

/** The balance a new account opens with. */
export const OPENING_BALANCE = 100;

/** The entity ID of an account. */
export const accountId = (key: string): EntityId => new EntityId("Account", key);

/** Registers the bank example on `hub`. */
export function register(hub: TaskHub): BankExample {
  const account = hub.entity<number>("Account", (ctx) => {
    switch (ctx.operationName) {
      case "get":
        return ctx.getState(() => OPENING_BALANCE);
      case "set":
        ctx.setState(ctx.getInput<number>());
        return;
      case "deposit":
        ctx.setState(ctx.getState(() => OPENING_BALANCE) + ctx.getInput<number>());
        return;
      default:
        throw new Error(`Account has no operation '${ctx.operationName}'`);
    }
  });

  const transfer = hub.orchestrator<TransferRequest, TransferResult>("Transfer", function* (ctx) {
    const { from, to, amount } = ctx.input;
    const source = accountId(from);
    const target = accountId(to);

    // Enter the critical section: both accounts are ours until release().
    const lock = yield* ctx.lock([source, target]);
    try {
      const [fromBalance, toBalance] = yield* ctx.Task.all([
        ctx.callEntity<number>(source, "get"),
        ctx.callEntity<number>(target, "get"),
      ]);
      if (fromBalance < amount) return { status: "InsufficientFunds", fromBalance, toBalance };
      yield* ctx.Task.all([
        ctx.callEntity(source, "set", fromBalance - amount),
        ctx.callEntity(target, "set", toBalance + amount),
      ]);
      return { status: "Transferred", fromBalance: fromBalance - amount, toBalance: toBalance + amount };
    } finally {
      lock.release();
    }
  });

  return { account, transfer };
}
