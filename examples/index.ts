/**
 * Registers every example on one hub, for the demo app and for trying them out together.
 */
import type { TaskHub } from "refrain";
import { type AggregatorExample, register as registerAggregator } from "./aggregator.js";
import { type ApprovalExample, register as registerApproval } from "./approval.js";
import { type BankExample, register as registerBank } from "./bank-transfer.js";
import { type ChainingExample, register as registerChaining } from "./chaining.js";
import { type CounterExample, register as registerCounter } from "./counter.js";
import {
  type ErrorHandlingExample,
  register as registerErrorHandling,
  type TravelAgency,
} from "./error-handling.js";
import { type FanOutFanInExample, register as registerFanOut } from "./fan-out-fan-in.js";
import { type MonitorExample, register as registerMonitor } from "./monitor.js";
import { type ParametersExample, register as registerParameters } from "./parameters.js";
import {
  register as registerSubOrchestrations,
  type SubOrchestrationsExample,
} from "./sub-orchestrations.js";

/** The registered functions of every example, by example. */
export interface AllExamples {
  chaining: ChainingExample;
  fanOutFanIn: FanOutFanInExample;
  monitor: MonitorExample;
  approval: ApprovalExample;
  subOrchestrations: SubOrchestrationsExample;
  errorHandling: ErrorHandlingExample;
  parameters: ParametersExample;
  counter: CounterExample;
  bank: BankExample;
  aggregator: AggregatorExample;
}

/** Registers all examples on `hub`; the saga books through `agency` when given. */
export function registerAll(hub: TaskHub, agency?: TravelAgency): AllExamples {
  return {
    chaining: registerChaining(hub),
    fanOutFanIn: registerFanOut(hub),
    monitor: registerMonitor(hub),
    approval: registerApproval(hub),
    subOrchestrations: registerSubOrchestrations(hub),
    errorHandling: registerErrorHandling(hub, agency),
    parameters: registerParameters(hub),
    counter: registerCounter(hub),
    bank: registerBank(hub),
    aggregator: registerAggregator(hub),
  };
}
