/**
 * Error handling: retries for transient failures, compensation (a saga) for permanent ones.
 *
 * A failed activity surfaces in the orchestrator as a `TaskFailedError` at the `yield`, so plain
 * `try/catch` works. Its `details` keep the original error's name, message, stack, `code` and
 * own properties, even though the activity may have run on another machine.
 *
 * - `RetryFlakyCall` calls a flaky service with `callActivityWithRetry`: failed attempts are
 *   retried after durable timers, and the orchestrator only sees the final outcome.
 * - `BookTrip` books a flight, a hotel and a car. If one booking fails, it cancels the ones
 *   already made, newest first, and reports what happened.
 */
import { type ActivityRef, type OrchestratorRef, RetryOptions, TaskFailedError, type TaskHub } from "refrain";

// ---------------------------------------------------------------------------------------------
// Retries

/** Input of the retry orchestrator. */
export interface FlakyCallInput {
  /** Simulation only: how many attempts fail before the service answers. */
  failuresBeforeSuccess: number;
  /** Attempts in total, the first included (default 5). */
  maxAttempts?: number;
  /** Wait before the first retry; each later wait doubles (default 100 ms). */
  firstRetryIntervalMs?: number;
}

/** Result of the retry orchestrator. */
export interface FlakyCallResult {
  /** The attempt that succeeded (1-based). */
  attempts: number;
  reply: string;
}

// ---------------------------------------------------------------------------------------------
// Saga

/** The things a trip consists of, booked in this order. */
export type TravelService = "flight" | "hotel" | "car";

/** Input of the saga: who travels where. */
export interface Trip {
  tripId: string;
  traveller: string;
  city: string;
}

/** A booking that was made and may have to be cancelled. */
export interface Booking {
  service: TravelService;
  confirmation: string;
}

/** Result of the saga. */
export type TripResult =
  | { tripId: string; status: "Booked"; bookings: Booking[] }
  | {
      tripId: string;
      status: "RolledBack";
      /** The service whose booking failed, and why: the original error's name, message, code and own properties. */
      failure: { service: TravelService; error: string; code?: string; properties?: Record<string, unknown> };
      /** The services whose bookings were cancelled, in the order they were cancelled. */
      cancelled: TravelService[];
    };

/** Thrown by the travel agency when nothing is left; `service` and `city` reach the orchestrator. */
export class SoldOutError extends Error {
  readonly code = "SOLD_OUT";

  constructor(
    readonly service: TravelService,
    readonly city: string,
  ) {
    super(`no ${service} available in ${city}`);
    this.name = "SoldOutError";
  }
}

/**
 * A stand-in for the outside world: an in-memory travel agency. It remembers every booking and
 * cancellation in `journal`, and answers `SoldOutError` for the services listed in `soldOut`.
 */
export class TravelAgency {
  /** Every booking and cancellation, in order, e.g. "book flight trip-1". */
  readonly journal: string[] = [];

  constructor(private readonly soldOut: { [S in TravelService]?: string[] } = {}) {}

  /** Books a service for a trip and returns its confirmation number. */
  book(service: TravelService, trip: Trip): string {
    if (this.soldOut[service]?.includes(trip.city)) throw new SoldOutError(service, trip.city);
    this.journal.push(`book ${service} ${trip.tripId}`);
    return `${service.toUpperCase()}-${trip.tripId}`;
  }

  /** Cancels a booking made by `book`. */
  cancel(booking: Booking): void {
    this.journal.push(`cancel ${booking.service} ${booking.confirmation}`);
  }
}

/** The functions this example registers. */
export interface ErrorHandlingExample {
  /** Activity: a service that fails its first `failuresBeforeSuccess` attempts. */
  callFlakyService: ActivityRef<{ failuresBeforeSuccess: number }, FlakyCallResult>;
  /** Orchestrator: calls the flaky service with retries. */
  retryFlakyCall: OrchestratorRef<FlakyCallInput, FlakyCallResult>;
  /** Activity: books one service of a trip. */
  bookTravel: ActivityRef<{ service: TravelService; trip: Trip }, string>;
  /** Activity: cancels one booking (the compensation of `bookTravel`). */
  cancelTravel: ActivityRef<Booking, void>;
  /** Orchestrator: the booking saga. */
  bookTrip: OrchestratorRef<Trip, TripResult>;
}

/** Registers the error-handling examples on `hub`; bookings go to `agency`. */
export function register(hub: TaskHub, agency: TravelAgency = new TravelAgency()): ErrorHandlingExample {
  // `ctx.attempt` counts attempts under a retry policy, starting at 1.
  const callFlakyService = hub.activity(
    "CallFlakyService",
    async (input: { failuresBeforeSuccess: number }, ctx) => {
      if (ctx.attempt <= input.failuresBeforeSuccess) {
        throw new Error(`service unavailable (attempt ${ctx.attempt})`);
      }
      return { attempts: ctx.attempt, reply: "OK" };
    },
  );

  const retryFlakyCall = hub.orchestrator<FlakyCallInput, FlakyCallResult>("RetryFlakyCall", function* (ctx) {
    const { failuresBeforeSuccess, maxAttempts = 5, firstRetryIntervalMs = 100 } = ctx.input;
    const retry = new RetryOptions(firstRetryIntervalMs, maxAttempts);
    retry.backoffCoefficient = 2;
    // If every attempt fails, the last TaskFailedError is thrown here; left uncaught, it makes
    // the instance Failed with the activity's error in `failureDetails`.
    return yield* ctx.callActivityWithRetry(callFlakyService, retry, { failuresBeforeSuccess });
  });

  const bookTravel = hub.activity(
    "BookTravel",
    async ({ service, trip }: { service: TravelService; trip: Trip }) => agency.book(service, trip),
  );
  const cancelTravel = hub.activity("CancelTravel", async (booking: Booking) => agency.cancel(booking));

  const bookTrip = hub.orchestrator<Trip, TripResult>("BookTrip", function* (ctx) {
    const trip = ctx.input;
    const services: TravelService[] = ["flight", "hotel", "car"];
    const bookings: Booking[] = [];
    try {
      for (const service of services) {
        const confirmation = yield* ctx.callActivity(bookTravel, { service, trip });
        bookings.push({ service, confirmation });
      }
      return { tripId: trip.tripId, status: "Booked", bookings };
    } catch (err) {
      // Only a failed activity is a business failure; anything else is a bug, so rethrow it.
      if (!(err instanceof TaskFailedError)) throw err;
      const failedService = services[bookings.length]!;
      // `details` describe the error the activity threw, e.g. for a SoldOutError:
      // { name: "SoldOutError", message: "no car available in Lima", code: "SOLD_OUT",
      //   properties: { service: "car", city: "Lima" }, stack: "..." }
      const { name, message, code, properties } = err.details;
      ctx.log.warn(`trip ${trip.tripId}: ${name}: ${message}; cancelling ${bookings.length} booking(s)`);

      // Compensate newest first. Cancellations must not be lost, so they are retried too.
      const cancelled: TravelService[] = [];
      for (const booking of [...bookings].reverse()) {
        yield* ctx.callActivityWithRetry(cancelTravel, new RetryOptions(100, 5), booking);
        cancelled.push(booking.service);
      }
      return {
        tripId: trip.tripId,
        status: "RolledBack",
        failure: { service: failedService, error: `${name}: ${message}`, code, properties },
        cancelled,
      };
    }
  });

  return { callFlakyService, retryFlakyCall, bookTravel, cancelTravel, bookTrip };
}
