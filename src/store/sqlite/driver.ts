/**
 * Loads the SQLite driver that is safe on the running Node.js. better-sqlite3 13 (Node-API,
 * prebuilt) is required on Node 22 and later: 12.x aborts the process on Node 24 when a statement
 * is garbage-collected outside a JavaScript context. 13.x does not run on Node 20, which keeps
 * 12.x (compiled at install). Both are dependencies; only the right one is ever loaded.
 * See docs/decisions/006-sqlite-driver-per-node-version.md.
 */
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";

const requireFromHere = createRequire(import.meta.url);
const nodeMajor = Number(process.versions.node.split(".")[0]);

/** The package name of the driver this Node.js version loads. */
export const SQLITE_DRIVER_PACKAGE = nodeMajor >= 22 ? "better-sqlite3-node22" : "better-sqlite3";

/** The better-sqlite3 `Database` constructor for this Node.js version. */
export const Database = requireFromHere(SQLITE_DRIVER_PACKAGE) as typeof BetterSqlite3;
