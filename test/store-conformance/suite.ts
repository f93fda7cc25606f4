/**
 * The Store conformance suite: the executable definition of a correct store. Every store
 * implementation (memory, SQLite, PostgreSQL) runs it unchanged, through the Store interface only.
 */
import { describe } from "node:test";
import type { Store } from "../../src/store/store.js";
import { useStore } from "./fixtures.js";
import { activityTests } from "./suite-activity.js";
import { batchTests } from "./suite-batch.js";
import { claimTests } from "./suite-claims.js";
import { commitTests } from "./suite-commit.js";
import { entityStoreTests } from "./suite-entities.js";
import { instanceTests } from "./suite-instances.js";
import { lookAheadTests } from "./suite-look-ahead.js";
import { miscTests } from "./suite-misc.js";
import { orchestrationLeaseTests } from "./suite-orchestration.js";
import { queryTests } from "./suite-query.js";

/**
 * Declares the whole conformance suite under `describe(label)`. `makeStore` is called before
 * every test and must return a fresh, empty store (not yet opened; the suite opens it) and a
 * cleanup function run after the store is closed.
 */
export function storeConformanceSuite(
  label: string,
  makeStore: () => Promise<{ store: Store; cleanup: () => Promise<void> }>,
): void {
  describe(label, () => {
    const harness = useStore(makeStore);
    instanceTests(harness);
    orchestrationLeaseTests(harness);
    commitTests(harness);
    activityTests(harness);
    queryTests(harness);
    miscTests(harness);
    entityStoreTests(harness);
    batchTests(harness);
    claimTests(harness);
    lookAheadTests(harness);
  });
}
