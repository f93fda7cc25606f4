/** Runs the Store conformance suite against the in-memory store. */
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { storeConformanceSuite } from "./suite.js";

storeConformanceSuite("MemoryStore conformance", async () => ({
  store: new MemoryStore(),
  cleanup: async () => {},
}));
