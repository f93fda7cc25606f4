/**
 * The bank workload of the entity crash tests, shared by the worker process and the tests: five
 * account entities and transfers that lock both accounts, read both balances and write both back
 * (with the transfer's ID appended to each account's log), plus the plan and the oracle.
 */
import { EntityId, type OrchestrationContext, type TaskHub } from "../../src/index.js";

/** An account's state: its balance and the transfers applied to it, in order. */
export interface AccountState {
  balance: number;
  applied: string[];
}

/** One planned transfer. */
export interface PlannedTransfer {
  instanceId: string;
  from: string;
  to: string;
  amount: number;
}

/** The accounts of the workload; each starts with `OPENING_BALANCE`. */
export const ACCOUNTS = ["acc-0", "acc-1", "acc-2", "acc-3", "acc-4"] as const;
export const OPENING_BALANCE = 1_000_000_000;

/** The entity ID of an account. */
export const accountId = (key: string): EntityId => new EntityId("Account", key);

/**
 * `count` transfers between overlapping pairs of accounts, with distinct amounts 2^(i mod 40) + i.
 * A transfer applied twice or not at all shows in its accounts' logs of applied transfers, and
 * almost always in their balances too. Every balance stays an integer that a JavaScript number
 * holds exactly; plain 2^i would not after 53 transfers, and the soak runs 120.
 */
export function planTransfers(count: number): PlannedTransfer[] {
  return Array.from({ length: count }, (_, i) => ({
    instanceId: `transfer-${i}`,
    from: ACCOUNTS[i % ACCOUNTS.length]!,
    to: ACCOUNTS[(i + 1 + (i % 3)) % ACCOUNTS.length]!,
    amount: 2 ** (i % 40) + i,
  }));
}

/** The balance every account must end with when each transfer applied exactly once. */
export function expectedBalances(transfers: readonly PlannedTransfer[]): Map<string, number> {
  const balances = new Map<string, number>(ACCOUNTS.map((a) => [a, OPENING_BALANCE]));
  for (const t of transfers) {
    balances.set(t.from, balances.get(t.from)! - t.amount);
    balances.set(t.to, balances.get(t.to)! + t.amount);
  }
  return balances;
}

/** Registers the Account entity and the Transfer orchestrator. */
export function registerBank(hub: TaskHub): void {
  hub.entity<AccountState>("Account", (ctx) => {
    const opening = (): AccountState => ({ balance: OPENING_BALANCE, applied: [] });
    switch (ctx.operationName) {
      case "get":
        return ctx.getState(opening);
      case "put":
        ctx.setState(ctx.getInput<AccountState>());
        return;
      default:
        throw new Error(`unknown operation ${ctx.operationName}`);
    }
  });
  hub.orchestrator("Transfer", function* (ctx: OrchestrationContext<PlannedTransfer>) {
    const { from, to, amount } = ctx.input;
    const lock = yield* ctx.lock([accountId(from), accountId(to)]);
    const [a, b] = yield* ctx.Task.all([
      ctx.callEntity<AccountState>(accountId(from), "get"),
      ctx.callEntity<AccountState>(accountId(to), "get"),
    ]);
    yield* ctx.Task.all([
      ctx.callEntity(accountId(from), "put", {
        balance: a.balance - amount,
        applied: [...a.applied, ctx.instanceId],
      }),
      ctx.callEntity(accountId(to), "put", {
        balance: b.balance + amount,
        applied: [...b.applied, ctx.instanceId],
      }),
    ]);
    lock.release();
    return amount;
  });
}
