/** Runs the Store conformance suite against the PostgreSQL store, one fresh schema per test. */
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { describePostgres, dropSchema, randomSchema, TEST_DATABASE_URL } from "./postgres-env.js";
import { storeConformanceSuite } from "./suite.js";

await describePostgres("PostgresStore", () => {
  storeConformanceSuite("PostgresStore conformance", async () => {
    const schema = randomSchema();
    return {
      store: new PostgresStore({ connectionString: TEST_DATABASE_URL, schema }),
      cleanup: () => dropSchema(schema),
    };
  });
});
