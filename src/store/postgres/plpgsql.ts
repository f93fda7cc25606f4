/**
 * Shared pieces of the store's PL/pgSQL: the function attributes every function is made with, and
 * the runtime statuses of instances that still run.
 */

/** The runtime statuses of an active instance, as an SQL list. */
export const ACTIVE = "('Pending', 'Running', 'Suspended', 'ContinuedAsNew')";

/**
 * Every function is PL/pgSQL, whose statement plans are cached; they are made with sequential
 * scans disabled, so a plan made while a table was new and small (statistics say empty) still uses
 * the indexes once the table is large. Every statement here is meant to be an index lookup.
 */
export const FN = "LANGUAGE plpgsql VOLATILE SET enable_seqscan = off";

/**
 * The inbox's kind expression: true for a message to an entity (its instance ID begins with "@"),
 * false for one to an orchestration. Queries spell it exactly so for PostgreSQL to use the index
 * `inbox_by_kind_visible`; `M_KIND` is the same on the alias `m`.
 */
export const INBOX_KIND = "(left(instance_id, 1) = '@')";
export const M_KIND = "(left(m.instance_id, 1) = '@')";
