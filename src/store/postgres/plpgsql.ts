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
